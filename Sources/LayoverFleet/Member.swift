/// One node of the fleet, named by its URL as peers reach it, normalised
/// (`scheme://host:port`, lower-case) so every node derives the same name from the same list.
public struct Member: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// `http://10.0.0.5:5000`.
    public let url: String

    /// A member from a URL already normalised (see `FleetConfiguration.normalized`).
    public init(url: String) {
        self.url = url
    }

    public var description: String { url }

    /// Whether a request's `Host` (`host[:port]`) names this member: the client addressed it
    /// directly, not through a balancer.
    public func isAddressed(byHost host: String?) -> Bool {
        guard let host, let colon = url.range(of: "://") else { return false }
        let authority = url[colon.upperBound...]
        let scheme = url[..<colon.lowerBound]
        let given = host.lowercased()
        if given == authority { return true }
        let defaultPort = scheme == "https" ? ":443" : ":80"
        return given + defaultPort == authority
    }

    public static func < (lhs: Member, rhs: Member) -> Bool { lhs.url < rhs.url }
}
