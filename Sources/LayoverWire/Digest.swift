/// A content digest, `algorithm:encoded`, validated on construction.
///
/// Only the algorithms the OCI image spec registers are accepted: `sha256` (64 lowercase hex
/// characters) and `sha512` (128). A `Digest` is never a bare string anywhere in Layover.
public struct Digest: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// A registered digest algorithm.
    public enum Algorithm: String, Sendable, Hashable {
        case sha256
        case sha512

        /// The length of the hex encoding of this algorithm's output.
        public var hexLength: Int {
            switch self {
            case .sha256: 64
            case .sha512: 128
            }
        }
    }

    /// The algorithm that produced the digest.
    public let algorithm: Algorithm
    /// The lowercase hex encoding of the digest bytes.
    public let encoded: String

    /// Parses `algorithm:encoded`; throws `WireError.invalidDigest` for anything else.
    public init(parsing text: some StringProtocol) throws(WireError) {
        guard let colon = text.firstIndex(of: ":") else { throw .invalidDigest(String(text)) }
        guard let algorithm = Algorithm(rawValue: String(text[..<colon])) else {
            throw .invalidDigest(String(text))
        }
        let encoded = text[text.index(after: colon)...]
        guard encoded.utf8.count == algorithm.hexLength,
              encoded.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) })
        else { throw .invalidDigest(String(text)) }
        self.algorithm = algorithm
        self.encoded = String(encoded)
    }

    /// Builds a digest from an algorithm and already-validated hex.
    public init(algorithm: Algorithm, hex: String) throws(WireError) {
        try self.init(parsing: "\(algorithm.rawValue):\(hex)")
    }

    public var description: String { "\(algorithm.rawValue):\(encoded)" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }
}
