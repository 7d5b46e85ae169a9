import LayoverWire

extension BlobStore {
    /// Marks stored manifest `digest` as read and found not to be a BuildKit cache: resolving it
    /// again then costs one lookup, no read and no parse, however many manifests are in use (a
    /// bounded set of such digests was cleared over and over by a working set larger than it).
    /// Kept in the blob's record in memory, at no cost per blob; gone with the blob and at a
    /// restart. No I/O.
    public func markNotCache(_ digest: Digest) {
        state.withLock { $0.records.markNotCache(digest) }
    }

    /// Whether `digest` is stored and marked by `markNotCache`. No I/O.
    public func isNotCache(_ digest: Digest) -> Bool {
        state.withLock { $0.records.isNotCache(digest) }
    }
}
