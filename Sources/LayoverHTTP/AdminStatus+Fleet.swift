import LayoverFleet
import LayoverMetrics

extension AdminStatus {
    /// The fleet as this node sees it: who it is, the members, and the peer traffic since start.
    public struct Fleet: Codable, Sendable, Equatable {
        /// This node's advertised URL.
        public var me: String
        public var members: [String]
        /// The share of digests and repositories this node owns (1 / members with rendezvous
        /// hashing, give or take the hash's spread).
        public var share: Double
        public var traffic: FleetTally.Snapshot
    }
}

extension AdminStatus.Fleet {
    init(_ fleet: LayoverFleet.Fleet) {
        let members = fleet.membership.current
        self.init(me: fleet.membership.me.url, members: members.map(\.url),
                  share: members.isEmpty ? 1 : 1 / Double(members.count), traffic: Telemetry.fleet.snapshot)
    }
}
