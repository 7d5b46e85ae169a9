import Crypto

extension Digest {
    /// The SHA-256 digest of `bytes`.
    public static func sha256<Bytes: Sequence>(of bytes: Bytes) -> Digest where Bytes.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(data: Array(bytes))
        return Digest(sha256Hex: hasher.finalize().hexString)
    }

    /// Wraps the hex output of a SHA-256 hasher; callers guarantee the format.
    public init(sha256Hex hex: String) {
        self.algorithm = .sha256
        self.encoded = hex
    }

    /// Wraps the hex output of a SHA-512 hasher; callers guarantee the format.
    public init(sha512Hex hex: String) {
        self.algorithm = .sha512
        self.encoded = hex
    }
}

/// An incremental hasher for the algorithm a digest names.
public struct DigestHasher {
    private enum State {
        case sha256(SHA256)
        case sha512(SHA512)
    }
    private var state: State

    /// A hasher producing digests of `algorithm`.
    public init(_ algorithm: Digest.Algorithm) {
        switch algorithm {
        case .sha256: state = .sha256(SHA256())
        case .sha512: state = .sha512(SHA512())
        }
    }

    /// Feeds bytes to the hash.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .sha256(var hasher):
            hasher.update(bufferPointer: bytes)
            state = .sha256(hasher)
        case .sha512(var hasher):
            hasher.update(bufferPointer: bytes)
            state = .sha512(hasher)
        }
    }

    /// The digest of everything fed so far.
    public func finalize() -> Digest {
        switch state {
        case .sha256(let hasher): Digest(sha256Hex: hasher.finalize().hexString)
        case .sha512(let hasher): Digest(sha512Hex: hasher.finalize().hexString)
        }
    }
}

extension Sequence where Element == UInt8 {
    /// The bytes as lower-case hex, two digits each.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(128)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
