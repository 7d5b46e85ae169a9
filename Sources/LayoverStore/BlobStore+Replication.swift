import LayoverWire

extension BlobStore {
    /// Records a manifest push (the manifest already stored with `put`): the tag moves, the
    /// repository is linked to the manifest and everything it needs, and, when `replicate`, a
    /// replication job is written in the same transaction and its blobs pinned until it completes.
    /// Returns the job (nil when not replicated) and the ids of older jobs it superseded.
    public func recordPush(repository: RepositoryKey, tag: Tag?, manifest: Digest, mediaType: String,
                           needs: [Digest], replicate: Bool) async throws(StoreError) -> (job: ReplicationJob?, superseded: [Int64]) {
        let now = clock()
        let (id, superseded) = try await index.recordPush(repository: repository, tag: tag, manifest: manifest, mediaType: mediaType,
                                                          needs: needs, replicate: replicate, now: now)
        let pinnedDigests = Array(Set(needs + [manifest]))
        state.withLock { state in
            for old in superseded { state.unpin(job: old) }
            if let id { state.pin(job: id, pinnedDigests) }
            for digest in pinnedDigests { state.pushHolds[digest] = nil }
            for digest in pinnedDigests { state.links.insert(.init(repository: repository, digest: digest)) }
        }
        guard let id else { return (nil, superseded) }
        let job = ReplicationJob(id: id, repository: repository, tag: tag, manifestDigest: manifest, mediaType: mediaType,
                                 state: .pending, attempts: 0, nextAttemptAt: now, lastError: nil, createdAt: now)
        return (job, superseded)
    }

    /// Every recorded job, oldest first: pending (including retrying) and dead.
    public func replicationJobs() throws(StoreError) -> [ReplicationJob] {
        try index.jobs()
    }

    /// A job reached its upstream: it is removed and its blobs unpinned.
    public func completeJob(_ job: ReplicationJob) async throws(StoreError) {
        try await index.completeJob(job)
        state.withLock { $0.unpin(job: job.id) }
    }

    /// Saves a job's new attempt count, schedule, state and last error.
    public func updateJob(_ job: ReplicationJob) async throws(StoreError) {
        try await index.updateJob(job)
    }

    /// Local tags of `repository`, with whether each was pushed and not yet replicated.
    public func localTags(_ repository: RepositoryKey) throws(StoreError) -> [(tag: String, pushPending: Bool)] {
        try index.tags(repository)
    }

    /// Loads the pins of recorded jobs; called once when the store opens.
    func loadPins() throws(StoreError) {
        let rows = try index.jobBlobs()
        state.withLock { state in
            for (job, digest) in rows { state.pin(job: job, [digest]) }
        }
    }

    /// Holds a blob just pushed (not yet named by a manifest) against eviction for `seconds`, so
    /// that the manifest that follows finds it; a manifest push's job pins take over from there.
    public func holdForPush(_ digest: Digest, seconds: Double) {
        let until = clock() + seconds
        state.withLock { state in state.pushHolds[digest] = max(state.pushHolds[digest] ?? 0, until) }
    }

    /// Bytes that must not be evicted for pushes: blobs pinned by replication jobs or held for a
    /// manifest still to come.
    public var pinnedBytes: Int64 {
        let now = clock()
        return state.withLock { state in
            let held = Set(state.pinnedByJob.keys).union(state.pushHolds.filter { $0.value > now }.keys)
            return held.reduce(0) { $0 + (state.records[$1]?.size ?? 0) }
        }
    }
}
