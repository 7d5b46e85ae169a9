import Crypto
import Foundation
import LayoverLocks
import LayoverStore
import LayoverWire

/// Which client credentials the upstream confirmed may pull (or push to) which repository, and
/// until when (intercept mode): one upstream check per credential, repository and right, not one
/// per request.
/// Credentials are kept only as SHA-256 digests.
///
/// Thread safety: one lock around the map.
final class InterceptAccessCache: Sendable {
    private let entries = Locked<[String: Double]>([:])
    /// Confirmations kept at most; past it, expired ones go, then the soonest to expire.
    static let capacity = 10_000
    /// How long a confirmation lasts at most (a token that says it lives longer is re-checked).
    static let longest: Double = 300
    /// For a credential whose lifetime cannot be read (Basic, an opaque token).
    static let opaque: Double = 60

    /// What the upstream confirmed.
    enum Right: String { case pull, push }

    /// Whether `authorization` was confirmed for `right` on `repository` and the confirmation still runs at `now`.
    func isConfirmed(_ authorization: String?, _ right: Right, _ repository: RepositoryKey, now: Double) -> Bool {
        let key = Self.key(authorization, right, repository)
        return entries.withLock { ($0[key] ?? 0) > now }
    }

    /// Records the upstream's confirmation, until the credential's expiry (a JWT's `exp`) and at
    /// most `longest` from `now`.
    func confirm(_ authorization: String?, _ right: Right, _ repository: RepositoryKey, now: Double) {
        let until = min(now + Self.longest, Self.expiry(of: authorization) ?? now + Self.opaque)
        let key = Self.key(authorization, right, repository)
        entries.withLock { entries in
            if entries.count >= Self.capacity {
                entries = entries.filter { $0.value > now }
                if entries.count >= Self.capacity, let soonest = entries.min(by: { $0.value < $1.value })?.key {
                    entries[soonest] = nil
                }
            }
            entries[key] = until
        }
    }

    private static func key(_ authorization: String?, _ right: Right, _ repository: RepositoryKey) -> String {
        SHA256.hash(data: Data((authorization ?? "").utf8)).hexString + " \(right.rawValue) " + repository.description
    }

    /// A Bearer JWT's `exp` (seconds since 1970); nil for anything else.
    static func expiry(of authorization: String?) -> Double? {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else { return nil }
        let parts = authorization.dropFirst("bearer ".count).split(separator: ".")
        guard parts.count == 3 else { return nil }
        var payload = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        payload += String(repeating: "=", count: (4 - payload.count % 4) % 4)
        guard let data = Data(base64Encoded: payload),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return (object["exp"] as? NSNumber)?.doubleValue
    }
}
