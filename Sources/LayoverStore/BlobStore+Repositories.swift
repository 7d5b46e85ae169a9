import LayoverWire

extension BlobStore {
    /// Whether `repository` is known to hold `digest` (a successful upstream check or a push).
    public func isLinked(_ repository: RepositoryKey, _ digest: Digest) async throws(StoreError) -> Bool {
        let key = StoreState.LinkKey(repository: repository, digest: digest)
        if state.withLock({ $0.links.contains(key) }) { return true }
        guard try await index.isLinked(repository, digest) else { return false }
        state.withLock { $0.rememberLink(key) }
        return true
    }

    /// Records that `repository` holds `digest`.
    public func link(_ repository: RepositoryKey, _ digest: Digest) async throws(StoreError) {
        let key = StoreState.LinkKey(repository: repository, digest: digest)
        if state.withLock({ $0.links.contains(key) }) { return }
        try await index.link(repository, digest)
        state.withLock { $0.rememberLink(key) }
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
        (try? index.repositories(holding: digest, upstream: upstream)) ?? []
    }
}
