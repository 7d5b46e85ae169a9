/// A repository name as the distribution spec defines it:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most 255 bytes.
public struct RepositoryName: Hashable, Sendable, CustomStringConvertible {
    /// The validated name, e.g. `library/alpine`.
    public let value: String

    /// The longest name accepted, in bytes.
    public static let maximumLength = 255

    /// Validates `text`; throws `WireError.invalidName` if it breaks the grammar.
    public init(_ text: some StringProtocol) throws(WireError) {
        let string = String(text)
        guard string.utf8.count <= Self.maximumLength,
              !string.isEmpty,
              string.split(separator: "/", omittingEmptySubsequences: false).allSatisfy(Self.isValidComponent)
        else { throw .invalidName(string) }
        value = string
    }

    /// The name's `/`-separated components.
    public var components: [Substring] { value.split(separator: "/") }

    public var description: String { value }

    /// One path component: alphanumeric runs joined by `.`, `_`, `__` or one or more `-`.
    public static func isValidComponent(_ component: Substring) -> Bool {
        var previousWasAlphanumeric = false
        var separator: [UInt8] = []
        for byte in component.utf8 {
            let alphanumeric = (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39)
            if alphanumeric {
                if !separator.isEmpty {
                    guard isAllowedSeparator(separator) else { return false }
                    separator.removeAll(keepingCapacity: true)
                }
                previousWasAlphanumeric = true
            } else if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") {
                guard previousWasAlphanumeric || !separator.isEmpty else { return false }
                separator.append(byte)
                previousWasAlphanumeric = false
            } else {
                return false
            }
        }
        return previousWasAlphanumeric
    }

    private static func isAllowedSeparator(_ separator: [UInt8]) -> Bool {
        if separator == [UInt8(ascii: ".")] || separator == [UInt8(ascii: "_")] { return true }
        if separator == [UInt8(ascii: "_"), UInt8(ascii: "_")] { return true }
        return separator.allSatisfy { $0 == UInt8(ascii: "-") }
    }
}
