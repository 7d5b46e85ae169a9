import LayoverWire

extension BlobStore {
    /// Records a manifest push (the manifest already stored with `put`): the tag moves, the
    /// repository is linked to the manifest and everything it needs, its push holds on those end,
    /// and either a replication job is written in the same transaction (when `replicate`) and its
    /// blobs pinned until it completes, or, for a local push by tag, the tag pins them.
    /// Returns the job (nil when not replicated) and the ids of older jobs it superseded.
    public func recordPush(repository: RepositoryKey, tag: Tag?, manifest: Digest, mediaType: String,
                           needs: [Digest], replicate: Bool) async throws(StoreError) -> (job: ReplicationJob?, superseded: [Int64]) {
        let now = clock()
        let rows = state.withLock { state in
            Dictionary((needs + [manifest]).compactMap { digest in state.records.rowID(of: digest).map { (digest, $0) } }) { first, _ in first }
        }
        let (id, superseded, previous) = try await index.recordPush(repository: repository, tag: tag, manifest: manifest, mediaType: mediaType,
                                                          needs: needs, rows: rows, replicate: replicate, now: now)
        let closure = Array(Set(needs + [manifest]))
        clearTombstones(repository, closure.map(\.description) + (tag.map { [$0.value] } ?? []))
        state.withLock { state in
            for old in superseded { state.unpin(.job(old)) }
            if let id {
                state.pin(.job(id), closure)
            } else if let tag {
                state.pin(.localTag(repository, tag), closure)
            }
            for digest in closure {
                state.releaseHold(HoldKey(repository: repository, digest: digest))
                state.rememberLink(.init(repository: repository, digest: digest))
            }
        }
        if let tag {
            await tagMoved(repository, tag, from: previous, to: manifest, newReferences: needs)
        } else {
            await recordReferences(of: manifest, needs)
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

    /// How many jobs wait and how many are dead, and the creation time of the oldest waiting one.
    public func replicationJobCounts() throws(StoreError) -> (pending: Int, dead: Int, oldestPendingCreatedAt: Double?) {
        try index.jobCounts()
    }

    /// A job reached its upstream: it is removed and its blobs unpinned; a deletion's tombstone
    /// goes with it.
    public func completeJob(_ job: ReplicationJob) async throws(StoreError) {
        let ended = try await index.completeJob(job, manifestRow: rowID(of: job.manifestDigest))
        if !ended.isEmpty {
            clearTombstones(job.repository, ended)
            if job.operation != .deleteTag {
                state.withLock { $0.forgetLink(.init(repository: job.repository, digest: job.manifestDigest)) }
            }
        }
        state.withLock { $0.unpin(.job(job.id)) }
    }

    /// Saves a job's new attempt count, schedule, state and last error, and ends its attempt.
    public func updateJob(_ job: ReplicationJob) async throws(StoreError) {
        try await index.updateJob(job)
    }

    /// Counts an attempt of `job` as made before it runs, so that a process dying during it is
    /// seen at the next start.
    public func beginAttempt(_ job: ReplicationJob) async throws(StoreError) {
        try await index.beginAttempt(job.id)
    }

    /// Puts dead jobs (every one, or those in `ids`) back in the queue; returns them.
    public func retryDeadJobs(_ ids: [Int64]?) async throws(StoreError) -> [ReplicationJob] {
        try await index.retryDead(ids, now: clock())
    }

    /// Local tags of `repository`, with whether each was pushed and not yet replicated.
    public func localTags(_ repository: RepositoryKey) throws(StoreError) -> [(tag: String, pushPending: Bool)] {
        try index.tags(repository)
    }

    /// Loads what protects pushes: the pins of recorded jobs and local tags, and the push holds
    /// still running; called once when the store opens.
    func loadProtection() throws(StoreError) {
        let jobBlobs = try index.jobBlobs()
        let tagPins = try index.tagPins()
        let holds = try index.holds(now: clock())
        state.withLock { state in
            for (job, digests) in Dictionary(grouping: jobBlobs, by: \.0) { state.pin(.job(job), digests.map(\.1)) }
            let byTag = Dictionary(grouping: tagPins) { PinOwner.localTag($0.0, $0.1) }
            for (owner, rows) in byTag { state.pin(owner, rows.map(\.2)) }
            for (key, until) in holds { state.hold(key, until: until) }
        }
    }

    /// Holds blobs just pushed to `repository` (not yet named by one of its manifests) against
    /// eviction for `seconds`, durably: the manifest that follows finds them, even after a restart.
    /// The repository is linked to them in the same transaction.
    /// That repository's manifest push ends the holds; pins take over from there.
    public func holdForPush(_ digests: [Digest], in repository: RepositoryKey, seconds: Double) async throws(StoreError) {
        let until = clock() + seconds
        let keys = digests.map { HoldKey(repository: repository, digest: $0) }
        // In memory first: from here on eviction leaves them alone, and their slots stay theirs.
        let rows = state.withLock { state in
            keys.map { key in
                state.hold(key, until: until)
                return (key, state.records.rowID(of: key.digest))
            }
        }
        try await index.hold(rows, until: until)
        clearTombstones(repository, digests.map(\.description))
        state.withLock { state in for key in keys { state.rememberLink(.init(repository: key.repository, digest: key.digest)) } }
    }

    /// Bytes that must not be evicted for pushes: blobs pinned by replication jobs or local tags,
    /// or held for a manifest still to come. A running total: O(1) whatever the store holds.
    public var pinnedBytes: Int64 {
        let now = clock()
        return state.withLock { state in
            state.expireHolds(now: now)
            return state.protectedBytes
        }
    }
}
