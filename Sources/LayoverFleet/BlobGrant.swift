import Crypto
import Foundation
import LayoverWire

/// A short-lived permission for one blob on a member other than the one the client asked.
///
/// A node that redirects a blob download to the digest's owner signs, with the fleet secret,
/// the repository name as the client wrote it, its `ns`, the digest and an expiry. The owner
/// serves a request carrying a valid grant without asking for credentials: the redirecting node
/// checked them, and clients drop `Authorization` on a redirect to another host. The grant is
/// good for that blob only, and only until it expires.
public enum BlobGrant {
    /// The query parameter a redirect's `Location` carries the grant in.
    public static let queryName = "layover-grant"
    /// Seconds a grant stays valid: long enough for a client to follow the redirect, short
    /// enough that a leaked URL soon stops working.
    public static let lifetime: Double = 300

    /// A grant for `GET`/`HEAD /v2/<name>/blobs/<digest>` (with `?ns=namespace`), good until
    /// `now + lifetime`: `<expiry>.<HMAC-SHA256, hex>`.
    public static func make(_ secret: FleetSecret, name: String, digest: String, namespace: String?, now: Double) -> String {
        let expiry = Int64((now + lifetime).rounded(.up))
        let code = HMAC<SHA256>.authenticationCode(for: Data(message(name, digest, namespace, expiry).utf8), using: secret.key)
        return "\(expiry).\(code.hexString)"
    }

    /// Whether `grant` was made with `secret` for exactly this blob and has not expired.
    public static func isValid(_ grant: String, _ secret: FleetSecret, name: String, digest: String, namespace: String?,
                               now: Double) -> Bool {
        let parts = grant.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let expiry = Int64(parts[0]), Double(expiry) >= now, Double(expiry) <= now + lifetime + 1,
              let code = hexBytes(parts[1]), code.count == SHA256.byteCount else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Data(message(name, digest, namespace, expiry).utf8),
                                                      using: secret.key)
    }

    private static func message(_ name: String, _ digest: String, _ namespace: String?, _ expiry: Int64) -> String {
        "layover-blob-grant\n\(name)\n\(namespace ?? "")\n\(digest)\n\(expiry)"
    }

    private static func hexBytes(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
