import LayoverWire

extension BlobStore {
    /// Applies a client's deletion here at once: `target` is forgotten in `repository` (a
    /// manifest takes its tags and referrer entries with it), a tombstone keeps revalidation
    /// from bringing it back from the upstream, and, when `replicate`, the job that deletes it
    /// upstream is recorded in the same transaction. The stored file stays for other
    /// repositories that hold it. `digest` is the manifest or blob concerned (for a tag, the
    /// manifest it pointed to). Returns the job (nil when not replicated).
    public func recordDelete(_ repository: RepositoryKey, _ target: DeleteTarget, digest: Digest,
                             replicate: Bool) async throws(StoreError) -> ReplicationJob? {
        let now = clock()
        let (id, tags) = try await index.recordDelete(repository, target, digest: digest, row: rowID(of: digest), replicate: replicate, now: now)
        tombstones.withLock { tombstones in
            for reference in [target.reference] + tags { tombstones.insert(Tombstone(repository: repository, reference: reference)) }
        }
        state.withLock { state in
            if case .tag = target {} else { state.forgetLink(.init(repository: repository, digest: digest)) }
            for tag in tags {
                if let tag = try? Tag(tag) { state.unpin(.localTag(repository, tag)) }
            }
        }
        guard let id else { return nil }
        let tag: Tag? = if case .tag(let tag) = target { tag } else { nil }
        return ReplicationJob(id: id, repository: repository, tag: tag, manifestDigest: digest, mediaType: "", state: .pending,
                              attempts: 0, nextAttemptAt: now, lastError: nil, createdAt: now, operation: target.operation)
    }

    /// Whether `reference` (a tag or a digest's text) was deleted in `repository` here and its
    /// deletion has not yet reached the upstream. No I/O.
    public func isDeleted(_ repository: RepositoryKey, _ reference: @autoclosure () -> String) -> Bool {
        // Asked on every pull: with no tombstone (the usual case) the reference is never spelt out.
        guard tombstones.withLock({ !$0.isEmpty }) else { return false }
        let tombstone = Tombstone(repository: repository, reference: reference())
        return tombstones.withLock { $0.contains(tombstone) }
    }

    /// Ends tombstones in memory once the index no longer has them (a push or upload of the
    /// same references, or a completed deletion).
    func clearTombstones(_ repository: RepositoryKey, _ references: [String]) {
        tombstones.withLock { tombstones in
            guard !tombstones.isEmpty else { return }
            for reference in references { tombstones.remove(Tombstone(repository: repository, reference: reference)) }
        }
    }
}
