import LayoverWire

/// The store's in-memory bookkeeping; mutated only under `BlobStore.state`'s lock.
struct StoreState: Sendable {
    var records: [Digest: BlobRecord]
    var totalBytes: Int64
    var reservedBytes: Int64 = 0
    var leases: [Digest: Int] = [:]
    /// Digest → the jobs that still need it.
    var pinnedByJob: [Digest: Set<Int64>] = [:]
    /// Job → the digests it pins.
    var pinsOfJob: [Int64: [Digest]] = [:]
    /// Blobs pushed and not yet referenced by a manifest push, held until the given time.
    var pushHolds: [Digest: Double] = [:]
    /// The time `isProtected` judges push holds against (set before each eviction).
    var now: Double = 0
    var dirtyRecency: [Digest: Double] = [:]
    var links: Set<LinkKey> = []

    struct LinkKey: Hashable, Sendable {
        var repository: RepositoryKey
        var digest: Digest
    }

    init(records: [BlobRecord]) {
        self.records = Dictionary(records.map { ($0.digest, $0) }, uniquingKeysWith: { first, _ in first })
        totalBytes = records.reduce(0) { $0 + $1.size }
    }

    mutating func acquire(_ digest: Digest, at time: Double) -> BlobRecord? {
        guard records[digest] != nil else { return nil }
        leases[digest, default: 0] += 1
        touch(digest, at: time)
        return records[digest]
    }

    mutating func releaseLease(_ digest: Digest) {
        guard let count = leases[digest] else { return }
        leases[digest] = count > 1 ? count - 1 : nil
    }

    mutating func touch(_ digest: Digest, at time: Double) {
        guard records[digest] != nil else { return }
        records[digest]!.lastAccess = time
        dirtyRecency[digest] = time
    }

    mutating func add(_ record: BlobRecord) {
        if let old = records[record.digest] { totalBytes -= old.size }
        records[record.digest] = record
        totalBytes += record.size
    }

    mutating func remove(_ digest: Digest) {
        guard let old = records.removeValue(forKey: digest) else { return }
        totalBytes -= old.size
        dirtyRecency[digest] = nil
    }

    func isProtected(_ digest: Digest) -> Bool {
        leases[digest] != nil || pinnedByJob[digest] != nil || (pushHolds[digest] ?? 0) > now
    }

    mutating func pin(job: Int64, _ digests: [Digest]) {
        pinsOfJob[job, default: []] += digests
        for digest in digests { pinnedByJob[digest, default: []].insert(job) }
    }

    mutating func unpin(job: Int64) {
        for digest in pinsOfJob.removeValue(forKey: job) ?? [] {
            pinnedByJob[digest]?.remove(job)
            if pinnedByJob[digest]?.isEmpty == true { pinnedByJob[digest] = nil }
        }
    }
}
