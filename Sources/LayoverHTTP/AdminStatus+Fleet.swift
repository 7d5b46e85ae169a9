import LayoverFleet
import LayoverMetrics

extension AdminStatus {
    /// The fleet as this node sees it: who it is, the members, and the peer traffic since start.
    public struct Fleet: Codable, Sendable, Equatable {
        /// This node's advertised URL.
        public var me: String
        public var members: [String]
        /// Members whose last contact from this node failed, with how long they have been failing
        /// (seconds): a node that is down shows here on every node that tried it.
        public var unreachable: [String: Double]
        /// The share of digests and repositories this node owns, counted over 2048 sample keys
        /// with the current members (near 1 / members; rendezvous hashing spreads it a little).
        public var share: Double
        public var traffic: FleetTally.Snapshot
    }
}

extension AdminStatus.Fleet {
    init(_ fleet: LayoverFleet.Fleet) {
        let members = fleet.membership.current
        var unreachable: [String: Double] = [:]
        for member in members {
            if let seconds = fleet.health.failingFor(member) { unreachable[member.url] = seconds }
        }
        self.init(me: fleet.membership.me.url, members: members.map(\.url), unreachable: unreachable,
                  share: fleet.membership.ownedShare(), traffic: Telemetry.fleet.snapshot)
    }
}
