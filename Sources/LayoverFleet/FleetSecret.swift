import Crypto

/// The secret every peer request carries. Compared in constant time: how long a refusal takes
/// says nothing about how much of a guess was right.
public struct FleetSecret: Sendable {
    private let bytes: [UInt8]

    public init(_ text: String) {
        bytes = Array(text.utf8)
    }

    /// The key redirect grants are signed with.
    var key: SymmetricKey { SymmetricKey(data: bytes) }

    /// The value to send.
    public var headerValue: String { String(decoding: bytes, as: UTF8.self) }

    /// Whether `candidate` is the secret; the time taken depends on the lengths only.
    public func matches(_ candidate: String?) -> Bool {
        guard let candidate else { return false }
        let given = Array(candidate.utf8)
        var difference = UInt8(given.count == bytes.count ? 0 : 1)
        for index in 0..<bytes.count {
            difference |= bytes[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }
}
