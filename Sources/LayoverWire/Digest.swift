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
        try self.init(parsing: String(text))
    }

    /// Parses `algorithm:encoded` byte-wise, with no generic dispatch: every request by digest
    /// comes this way.
    public init(parsing text: String) throws(WireError) {
        var text = text
        guard let (algorithm, encoded) = text.withUTF8(Self.split) else { throw .invalidDigest(text) }
        self.algorithm = algorithm
        self.encoded = encoded
    }

    private static func split(_ bytes: UnsafeBufferPointer<UInt8>) -> (Algorithm, String)? {
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let name = bytes[..<colon]
        let algorithm: Algorithm
        if name.elementsEqual("sha256".utf8) {
            algorithm = .sha256
        } else if name.elementsEqual("sha512".utf8) {
            algorithm = .sha512
        } else {
            return nil
        }
        let encoded = UnsafeBufferPointer(rebasing: bytes[(colon + 1)...])
        guard encoded.count == algorithm.hexLength,
              encoded.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        return (algorithm, String(decoding: encoded, as: UTF8.self))
    }

    /// Builds a digest from an algorithm and already-validated hex.
    public init(algorithm: Algorithm, hex: String) throws(WireError) {
        try self.init(parsing: "\(algorithm.rawValue):\(hex)")
    }

    public var description: String { "\(algorithm.rawValue):\(encoded)" }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }
}
