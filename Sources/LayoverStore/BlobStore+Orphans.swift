import LayoverWire

extension BlobStore {
    /// Bytes of stored blobs marked orphans. No I/O.
    public var orphanedBytes: Int64 { state.withLock { $0.orphanedBytes } }

    /// Whether `digest` is stored and marked an orphan. No I/O.
    public func isOrphan(_ digest: Digest) -> Bool { state.withLock { $0.records.isOrphan(digest) } }

    /// `tag` now points at manifest `new` (pushed here, or found upstream by revalidation) and
    /// pointed at `old` before (nil: a new tag). What `new` references stops being orphaned;
    /// `old` and the blobs only it named become orphans, evicted before anything else (DESIGN.md
    /// §6: `mode=max` rewrites its tag every build). Pins and holds keep protecting orphans.
    /// `newReferences` when the caller has them, else read from the stored manifest.
    /// Returns the stored bytes orphaned. Failures are logged: orphan marks only order eviction.
    @discardableResult
    func tagMoved(_ repository: RepositoryKey, _ tag: Tag, from old: Digest?, to new: Digest,
                  newReferences: [Digest]? = nil) async -> Int64 {
        let references = newReferences ?? storedReferences(of: new) ?? []
        let oldReferences = old.flatMap { $0 == new ? nil : storedReferences(of: $0) }
        let move: BlobIndex.TagMove
        do {
            move = try await index.tagMoved(repository, tag, from: old, oldReferences: oldReferences, to: new,
                                            newReferences: references, now: clock())
        } catch {
            logger.error("recording a tag move failed", metadata: ["repository": "\(repository)", "tag": "\(tag)", "error": "\(error)"])
            return 0
        }
        let bytes: Int64 = state.withLock { state in
            state.setOrphans(move.cleared, false)
            state.setOrphans(move.orphaned, true)
            return move.orphaned.reduce(0) { $0 + (state.records[$1]?.size ?? 0) }
        }
        if old != nil, old != new {
            try? await index.recordOrphanedBytes(repository, tag, bytes: bytes)
            caches.rewritten(repository, tag.value, orphaned: bytes)
        }
        return bytes
    }

    /// Records what manifest `manifest` (stored) references, for one stored without a tag: a
    /// blob a child of a tagged index names is then not orphaned. Failures are logged.
    public func recordReferences(of manifest: Digest, _ references: [Digest]) async {
        do {
            try await index.recordReferences(manifest, references)
        } catch {
            logger.error("recording a manifest's references failed", metadata: ["manifest": "\(manifest)", "error": "\(error)"])
        }
    }

    /// The digests a stored manifest references (an index's children, not theirs); nil when it
    /// is not stored or not a manifest.
    func storedReferences(of manifest: Digest) -> [Digest]? {
        guard let bytes = read(manifest), let parsed = try? Manifest(bytes: bytes, contentType: nil) else { return nil }
        return parsed.references.map(\.digest)
    }

    /// Marks the orphans the index keeps (oldest orphaned first), when the store opens.
    func loadOrphans() throws(StoreError) {
        let orphans = try index.orphans()
        state.withLock { $0.setOrphans(orphans, true) }
    }
}
