/// A client whose credential was verified: an htpasswd user or a configured token, by name.
/// Rules and `adminUsers` name either kind the same way.
public struct Principal: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case user
        case token
    }

    public var name: String
    public var kind: Kind

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }

    public var description: String { "\(kind.rawValue) \(name)" }
}
