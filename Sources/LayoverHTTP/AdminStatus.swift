import Foundation
import LayoverMetrics
import LayoverStore
import LayoverUpstream

/// What `/_layover/status` answers and `layover status` prints: the store's usage, the traffic
/// since start (hit ratio, egress saved), the replication queue and each upstream's health.
public struct AdminStatus: Codable, Sendable, Equatable {
    public struct Store: Codable, Sendable, Equatable {
        public var root: String
        public var bytes: Int64
        public var files: Int
        /// Bytes reserved by downloads and uploads in progress.
        public var reservedBytes: Int64
        public var budgetBytes: Int64
    }

    public struct Queue: Codable, Sendable, Equatable {
        /// Jobs waiting for their first try or a retry.
        public var pending: Int
        /// Jobs given up on (see `layover queue`).
        public var dead: Int
        /// Age of the oldest waiting job, seconds.
        public var oldestPendingSeconds: Double
    }

    public struct Upstream: Codable, Sendable, Equatable {
        public var name: String
        public var url: String
        /// `ok`, `failing` (the last request failed), `down` (the circuit breaker is open:
        /// requests for content only it has fail at once) or `unused` (nothing asked yet).
        public var state: String
        public var health: UpstreamHealth.Snapshot
        /// The circuit breaker: `closed` or `open`, since when, and why.
        public var breaker: CircuitBreaker.Snapshot?
    }

    /// Seconds since the server started.
    public var uptimeSeconds: Double
    public var store: Store
    public var traffic: TrafficTally.Snapshot
    /// Hits over lookups since start; nil before the first lookup.
    public var hitRatio: Double?
    /// Bytes clients received that did not cross the upstream link, since start.
    public var egressSavedBytes: Int64
    /// Nil when pushes are disabled.
    public var queue: Queue?
    public var upstreams: [Upstream]
    /// Nil for a single node.
    public var fleet: Fleet? = nil
    /// The BuildKit caches seen since start, most recently active first (as `/_layover/caches`).
    public var caches: [CacheLedger.Entry]? = nil

    /// The JSON the admin endpoint answers with (sorted keys, stable for scripts).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

extension AdminStatus.Upstream {
    init(_ client: RegistryClient) {
        let health = client.health.snapshot
        let breaker = client.breaker.snapshot
        let state = breaker.downSince != nil ? "down"
            : health.requests == 0 ? "unused" : (health.consecutiveFailures > 0 ? "failing" : "ok")
        self.init(name: client.upstream.name, url: client.upstream.url, state: state, health: health, breaker: breaker)
    }
}
