/// A repository name as the distribution spec defines it:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most 255 bytes.
public struct RepositoryName: Hashable, Sendable, CustomStringConvertible {
    /// The validated name, e.g. `library/alpine`.
    public let value: String

    /// The longest name accepted, in bytes.
    public static let maximumLength = 255

    /// Validates `text`; throws `WireError.invalidName` if it breaks the grammar.
    public init(_ text: some StringProtocol) throws(WireError) {
        try self.init(String(text))
    }

    /// Validates `string` (no generic dispatch: every request's name comes this way).
    public init(_ string: String) throws(WireError) {
        guard string.utf8.count <= Self.maximumLength, Self.isValid(string.utf8, components: true)
        else { throw .invalidName(string) }
        value = string
    }

    /// The name's `/`-separated components.
    public var components: [Substring] { value.split(separator: "/") }

    public var description: String { value }

    /// One path component: alphanumeric runs joined by `.`, `_`, `__` or one or more `-`.
    public static func isValidComponent(_ component: Substring) -> Bool {
        isValid(component.utf8, components: false)
    }

    /// One pass over the bytes, with no allocation (every request's name goes through it): with
    /// `components`, `/` separates components, none of which may be empty.
    private static func isValid(_ bytes: some Collection<UInt8>, components: Bool) -> Bool {
        var previousWasAlphanumeric = false
        // The separator run since the last alphanumeric byte, by kind.
        var dots = 0, underscores = 0, dashes = 0
        for byte in bytes {
            if (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) {
                if dots + underscores + dashes > 0 {
                    let allowed = (dots == 1 && underscores == 0 && dashes == 0)
                        || (dots == 0 && (underscores == 1 || underscores == 2) && dashes == 0)
                        || (dots == 0 && underscores == 0 && dashes > 0)
                    guard allowed else { return false }
                    dots = 0; underscores = 0; dashes = 0
                }
                previousWasAlphanumeric = true
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") {
                guard previousWasAlphanumeric || dots + underscores + dashes > 0 else { return false }
                switch byte {
                case UInt8(ascii: "."): dots += 1
                case UInt8(ascii: "_"): underscores += 1
                default: dashes += 1
                }
                previousWasAlphanumeric = false
            } else if components, byte == UInt8(ascii: "/") {
                guard previousWasAlphanumeric else { return false }
                previousWasAlphanumeric = false
            } else {
                return false
            }
        }
        return previousWasAlphanumeric
    }
}
