import LayoverLocks


/// Bearer tokens by (realm, service, scope), each kept until shortly before it expires.
/// Safe to use from any task.
final class TokenCache: Sendable {
    private let tokens = Locked<[String: (token: String, expiresAt: Double)]>([:])
    private let clock: @Sendable () -> Double

    init(clock: @escaping @Sendable () -> Double) {
        self.clock = clock
    }

    func token(for key: String) -> String? {
        let now = clock()
        return tokens.withLock { tokens in
            guard let entry = tokens[key] else { return nil }
            if entry.expiresAt <= now {
                tokens[key] = nil
                return nil
            }
            return entry.token
        }
    }

    /// Forgets the token of `key` (the upstream refused it before its time): the next request
    /// answers the challenge afresh.
    func remove(_ key: String) {
        _ = tokens.withLock { $0.removeValue(forKey: key) }
    }

    /// Stores a token valid for `lifetime` seconds; it is dropped 10 seconds early (or at half its
    /// life when that is shorter) so that a request never leaves with an expiring token.
    func store(_ token: String, for key: String, lifetime: Double) {
        let margin = min(10, lifetime / 2)
        let expiresAt = clock() + lifetime - margin
        tokens.withLock { $0[key] = (token, expiresAt) }
    }
}
