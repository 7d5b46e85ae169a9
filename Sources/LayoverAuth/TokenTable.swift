import Crypto

/// The configured tokens, held as SHA-256 digests only. A presented token is hashed and compared
/// with every digest in constant time (no early exit, no dependence on where it differs), so
/// neither a token's bytes nor its position in the list leak through timing.
public struct TokenTable: Sendable {
    private struct Entry: Sendable {
        var name: String
        var digest: [UInt8]
    }

    private let entries: [Entry]

    /// - Parameter tokens: names and lower- or upper-case hex SHA-256 digests; entries whose
    ///   digest is not 64 hex digits are dropped (the configuration loader refuses them first).
    public init(_ tokens: [AuthConfiguration.Token]) {
        entries = tokens.compactMap { token in Self.bytes(hex: token.sha256).map { Entry(name: token.name, digest: $0) } }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The name of the token whose digest is SHA-256(`token`), if any.
    public func name(of token: String) -> String? {
        let presented = Array(SHA256.hash(data: Array(token.utf8)))
        var found: String?
        for entry in entries {
            var difference: UInt8 = 0
            for index in 0..<32 { difference |= entry.digest[index] ^ presented[index] }
            if difference == 0, found == nil { found = entry.name }
        }
        return found
    }

    /// 64 hex digits as 32 bytes; nil for anything else.
    public static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
