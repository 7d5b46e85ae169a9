import LayoverWire

/// The configured tokens, held as SHA-256 digests only. A presented token is hashed and its hex
/// compared with every configured digest in constant time (no early exit, no dependence on
/// where it differs), so neither a token's bytes nor its position in the list leak through timing.
public struct TokenTable: Sendable {
    private struct Entry: Sendable {
        var name: String
        var hex: [UInt8]
    }

    private let entries: [Entry]

    public init(_ tokens: [AuthConfiguration.Token]) {
        entries = tokens.map { Entry(name: $0.name, hex: Array($0.sha256.encoded.utf8)) }
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The name of the token whose digest is SHA-256(`token`), if any.
    public func name(of token: String) -> String? {
        let presented = Array(Digest.sha256(of: token.utf8).encoded.utf8)
        var found: String?
        for entry in entries where entry.hex.count == presented.count {
            var difference: UInt8 = 0
            for index in presented.indices { difference |= entry.hex[index] ^ presented[index] }
            if difference == 0, found == nil { found = entry.name }
        }
        return found
    }
}
