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

    public static func < (lhs: Member, rhs: Member) -> Bool { lhs.url < rhs.url }
}
