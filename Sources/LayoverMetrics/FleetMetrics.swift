import CoreMetrics
import Synchronization

/// Running fleet totals since start, for the status page (Prometheus has the same as counters).
public final class FleetTally: Sendable {
    fileprivate let fillsUsed = Atomic<Int>(0)
    fileprivate let fillBytes = Atomic<Int>(0)
    fileprivate let fillsServed = Atomic<Int>(0)
    fileprivate let errors = Atomic<Int>(0)
    fileprivate let forwarded = Atomic<Int>(0)
    fileprivate let refused = Atomic<Int>(0)
    fileprivate let redirected = Atomic<Int>(0)

    init() {}

    /// The totals at one moment.
    public struct Snapshot: Sendable, Codable, Equatable {
        /// Misses (blobs, manifests by digest) this node filled from their owner instead of the upstream.
        public var peerFillsUsed: Int
        /// Bytes those fills brought.
        public var peerFillBytes: Int64
        /// Requests for blobs and manifests by digest from peers this node answered.
        public var peerFillsServed: Int
        /// Peers that could not be asked (down, slow, or an error): this node went upstream.
        public var peerErrors: Int
        /// Requests this node forwarded to their repository's owner.
        public var forwardedRequests: Int
        /// Requests that claimed to come from a peer without the fleet secret.
        public var refusedPeerRequests: Int
        /// Blob downloads this node sent to their digest's owner with a `307`.
        public var blobRedirects: Int
    }

    public var snapshot: Snapshot {
        Snapshot(peerFillsUsed: fillsUsed.load(ordering: .relaxed), peerFillBytes: Int64(fillBytes.load(ordering: .relaxed)),
                 peerFillsServed: fillsServed.load(ordering: .relaxed), peerErrors: errors.load(ordering: .relaxed),
                 forwardedRequests: forwarded.load(ordering: .relaxed), refusedPeerRequests: refused.load(ordering: .relaxed),
                 blobRedirects: redirected.load(ordering: .relaxed))
    }
}

extension Telemetry {
    /// The fleet totals behind the status page.
    public static let fleet = FleetTally()

    /// `layover_fleet_members`: members in this node's current list (1 outside a fleet).
    public static func fleetMembers(_ count: Int) {
        Gauge(label: "layover_fleet_members").record(count)
    }

    /// A miss (a blob, a manifest by digest) filled from its owner: `layover_peer_fills_total{role="used"}`.
    public static func peerFillUsed() {
        Counter(label: "layover_peer_fills_total", dimensions: [("role", "used")]).increment()
        fleet.fillsUsed.add(1, ordering: .relaxed)
    }

    /// Body bytes received from a peer: `layover_peer_fill_bytes_total`.
    public static func peerFilled(_ bytes: Int) {
        guard bytes > 0 else { return }
        Counter(label: "layover_peer_fill_bytes_total").increment(by: Int64(bytes))
        fleet.fillBytes.add(bytes, ordering: .relaxed)
    }

    /// A peer's request for a blob or a manifest by digest answered: `layover_peer_fills_total{role="served"}`.
    public static func peerFillServed() {
        Counter(label: "layover_peer_fills_total", dimensions: [("role", "served")]).increment()
        fleet.fillsServed.add(1, ordering: .relaxed)
    }

    /// A peer not reached, too slow, or answering with an error: `layover_peer_errors_total`.
    public static func peerError() {
        Counter(label: "layover_peer_errors_total").increment()
        fleet.errors.add(1, ordering: .relaxed)
    }

    /// A request forwarded to its owner: `layover_forwarded_requests_total`.
    public static func forwarded() {
        Counter(label: "layover_forwarded_requests_total").increment()
        fleet.forwarded.add(1, ordering: .relaxed)
    }

    /// A blob download redirected to its digest's owner: `layover_blob_redirects_total`.
    public static func blobRedirected() {
        Counter(label: "layover_blob_redirects_total").increment()
        fleet.redirected.add(1, ordering: .relaxed)
    }

    /// A request claiming to come from a peer without the secret: `layover_peer_refused_total`.
    public static func peerRefused() {
        Counter(label: "layover_peer_refused_total").increment()
        fleet.refused.add(1, ordering: .relaxed)
    }

    /// Creates the fleet families at zero, so a scrape lists them before the first event.
    public static func registerFleet(members: Int) {
        fleetMembers(members)
        for role in ["used", "served"] { Counter(label: "layover_peer_fills_total", dimensions: [("role", role)]).increment(by: 0) }
        for label in ["layover_peer_fill_bytes_total", "layover_peer_errors_total", "layover_forwarded_requests_total",
                      "layover_peer_refused_total", "layover_blob_redirects_total"] {
            Counter(label: label).increment(by: 0)
        }
    }
}
