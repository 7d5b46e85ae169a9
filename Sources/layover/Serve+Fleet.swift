import ArgumentParser
import LayoverConfig
import LayoverFleet
import LayoverMetrics
import Logging

extension Serve {
    /// The fleet this node belongs to, from the `fleet` section; nil for a fleet of one.
    static func fleet(_ configuration: LayoverConfiguration, logger: Logger) throws -> Fleet? {
        let section = configuration.fleet
        guard section.isEnabled, let advertise = section.advertise.flatMap(FleetConfiguration.normalized) else { return nil }
        guard let secret = try section.resolvedSecret(), !secret.isEmpty else {
            throw ValidationError("fleet: the secret is empty")
        }
        let me = Member(url: advertise)
        var members = section.peers.compactMap(FleetConfiguration.normalized).map(Member.init(url:))
        if let dns = section.peersFromDNS.flatMap(DNSMembers.init) { members += dns.resolve() }
        let membership = Membership(me: me, members: members)
        Telemetry.registerFleet(members: membership.current.count)
        logger.info("fleet member", metadata: ["advertise": "\(me)", "members": "\(membership.current.map(\.url))"])
        return Fleet(membership: membership, secret: FleetSecret(secret), http: Fleet.makeHTTPClient(),
                     redirectsBlobs: section.redirectBlobs)
    }
}
