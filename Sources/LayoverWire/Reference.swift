/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
public struct Tag: Hashable, Sendable, CustomStringConvertible {
    /// The validated tag text.
    public let value: String

    /// Validates `text`; throws `WireError.invalidTag` if it breaks the grammar.
    public init(_ text: some StringProtocol) throws(WireError) {
        try self.init(String(text))
    }

    /// Validates `text` byte-wise, with no generic dispatch and no copy.
    public init(_ text: String) throws(WireError) {
        let bytes = text.utf8
        guard let first = bytes.first, bytes.count <= 128,
              Self.isWordByte(first),
              bytes.dropFirst().allSatisfy({ Self.isWordByte($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") })
        else { throw .invalidTag(text) }
        value = text
    }

    public var description: String { value }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x30 && byte <= 0x39)
            || byte == UInt8(ascii: "_")
    }
}

/// What a manifest request names: a mutable tag or an immutable digest.
public enum Reference: Hashable, Sendable, CustomStringConvertible {
    case tag(Tag)
    case digest(Digest)

    /// A reference containing `:` is a digest, anything else a tag.
    public init(parsing text: some StringProtocol) throws(WireError) {
        try self.init(parsing: String(text))
    }

    /// A reference containing `:` is a digest, anything else a tag (no generic dispatch).
    public init(parsing text: String) throws(WireError) {
        if text.utf8.contains(UInt8(ascii: ":")) {
            self = .digest(try Digest(parsing: text))
        } else {
            self = .tag(try Tag(text))
        }
    }

    public var description: String {
        switch self {
        case .tag(let tag): tag.value
        case .digest(let digest): digest.description
        }
    }
}
