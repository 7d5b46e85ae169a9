import LayoverWire

extension BlobStore {
    /// Whether `repository` is known to hold `digest` (a successful upstream check or a push).
    public func isLinked(_ repository: RepositoryKey, _ digest: Digest) async throws(StoreError) -> Bool {
        if isLinkRemembered(repository, digest) { return true }
        let key = StoreState.LinkKey(repository: repository, digest: digest)
        guard let row = rowID(of: digest), try await index.isLinked(repository, digest, row: row) else { return false }
        state.withLock { $0.rememberLink(key) }
        return true
    }

    /// Whether `repository` is known to hold `digest` without asking the index: true only for a
    /// link confirmed or read since the start (and not yet forgotten); false says nothing.
    public func isLinkRemembered(_ repository: RepositoryKey, _ digest: Digest) -> Bool {
        let key = StoreState.LinkKey(repository: repository, digest: digest)
        return state.withLock { $0.links.contains(key) }
    }

    /// Records that `repository` holds `digest`: in the index when the blob is stored here (a
    /// link is a fact about a stored blob, see `BlobIndex+Links`), in memory in any case.
    public func link(_ repository: RepositoryKey, _ digest: Digest) async throws(StoreError) {
        if isLinkRemembered(repository, digest) { return }
        let key = StoreState.LinkKey(repository: repository, digest: digest)
        if let row = rowID(of: digest) { try await index.link(repository, digest, row: row) }
        state.withLock { $0.rememberLink(key) }
    }

    /// The slot of a stored blob, which is its index row's id; nil when not stored.
    func rowID(of digest: Digest) -> Int64? {
        state.withLock { $0.records.rowID(of: digest) }
    }

    /// Where `tag` pointed when last confirmed.
    public func tag(_ repository: RepositoryKey, _ tag: Tag) async throws(StoreError) -> TagRecord? {
        try await index.tag(repository, tag)
    }

    /// Records where `tag` points now; a tag that moved orphans what only its old manifest named.
    public func setTag(_ repository: RepositoryKey, _ tag: Tag, _ record: TagRecord) async throws(StoreError) {
        let (moved, previous) = try await index.setTag(repository, tag, record)
        if moved { await tagMoved(repository, tag, from: previous, to: record.digest) }
    }
}

extension BlobStore {
    /// Repositories on `upstream` known to hold `digest`: sources for a cross-repository mount.
    public func repositories(holding digest: Digest, upstream: String) -> [RepositoryName] {
        guard let row = rowID(of: digest) else { return [] }
        return (try? index.repositories(holding: digest, row: row, upstream: upstream)) ?? []
    }
}
