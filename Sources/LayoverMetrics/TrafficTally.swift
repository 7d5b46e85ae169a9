import Synchronization

/// Running totals since the process started, for the admin status (the hit ratio, bytes saved).
/// Prometheus has the same figures as counters; this copy is readable in-process.
public final class TrafficTally: Sendable {
    private let manifestHits = Atomic<Int>(0)
    private let manifestMisses = Atomic<Int>(0)
    private let blobHits = Atomic<Int>(0)
    private let blobMisses = Atomic<Int>(0)
    private let coalesced = Atomic<Int>(0)
    private let storeBytes = Atomic<Int>(0)
    private let streamedBytes = Atomic<Int>(0)
    private let fetchedBytes = Atomic<Int>(0)
    private let requests = Atomic<Int>(0)

    init() {}

    func lookup(_ kind: CacheKind, hit: Bool) {
        switch (kind, hit) {
        case (.manifest, true): manifestHits.add(1, ordering: .relaxed)
        case (.manifest, false): manifestMisses.add(1, ordering: .relaxed)
        case (.blob, true): blobHits.add(1, ordering: .relaxed)
        case (.blob, false): blobMisses.add(1, ordering: .relaxed)
        }
    }

    func joined() { coalesced.add(1, ordering: .relaxed) }
    func served(_ bytes: Int, fromStore: Bool) {
        if fromStore { storeBytes.add(bytes, ordering: .relaxed) } else { streamedBytes.add(bytes, ordering: .relaxed) }
    }
    func fetched(_ bytes: Int) { fetchedBytes.add(bytes, ordering: .relaxed) }
    func request() { requests.add(1, ordering: .relaxed) }

    /// A consistent-enough copy of every total (each read on its own, relaxed).
    public var snapshot: Snapshot {
        Snapshot(requests: requests.load(ordering: .relaxed),
                 manifestHits: manifestHits.load(ordering: .relaxed), manifestMisses: manifestMisses.load(ordering: .relaxed),
                 blobHits: blobHits.load(ordering: .relaxed), blobMisses: blobMisses.load(ordering: .relaxed),
                 coalesced: coalesced.load(ordering: .relaxed),
                 servedFromStoreBytes: Int64(storeBytes.load(ordering: .relaxed)),
                 servedWhileFetchingBytes: Int64(streamedBytes.load(ordering: .relaxed)),
                 fetchedUpstreamBytes: Int64(fetchedBytes.load(ordering: .relaxed)))
    }

    /// The totals at one moment.
    public struct Snapshot: Sendable, Codable, Equatable {
        public var requests: Int
        public var manifestHits: Int
        public var manifestMisses: Int
        public var blobHits: Int
        public var blobMisses: Int
        public var coalesced: Int
        public var servedFromStoreBytes: Int64
        public var servedWhileFetchingBytes: Int64
        public var fetchedUpstreamBytes: Int64

        /// Hits over lookups, manifests and blobs together; nil before the first lookup.
        public var hitRatio: Double? {
            let hits = manifestHits + blobHits
            let total = hits + manifestMisses + blobMisses
            return total == 0 ? nil : Double(hits) / Double(total)
        }

        /// Bytes clients received that did not cross the upstream link.
        public var egressSavedBytes: Int64 {
            max(0, servedFromStoreBytes + servedWhileFetchingBytes - fetchedUpstreamBytes)
        }
    }
}
