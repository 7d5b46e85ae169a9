import Crypto
import LayoverLocks

/// Who a request's `Authorization` header says the client is, checked against the htpasswd users
/// and the tokens.
///
/// Promises: a header verified once is answered from `CredentialCache` until it expires (only a
/// client's first request pays bcrypt); concurrent requests with the same unverified header share
/// one check; bcrypt runs on `BcryptVerifier`'s threads; an address that keeps failing waits
/// (`FailureThrottle`) before its credential is even looked at; a user name the file does not
/// hold costs the same bcrypt as a wrong password (no user enumeration by timing). Nothing here
/// logs or keeps a header, password or token. Thread-safe.
public final class Authenticator: Sendable {
    private let htpasswd: HtpasswdFile?
    private let tokens: TokenTable
    private let cache: CredentialCache
    private let throttle: FailureThrottle
    private let bcrypt: BcryptVerifier
    private let sleep: @Sendable (Duration) async -> Void
    private let inflight = Locked([CredentialCache.Key: [CheckedContinuation<Authentication, Never>]]())

    /// A cost-5 bcrypt hash of a random text, checked when the user is unknown.
    static let decoyHash = "$2y$05$vQzyS.GxL1/xSVsNvDOv/u8V./7c3tALBpdULWr0LR7AFoc/bKBJi"

    public init(htpasswd: HtpasswdFile?, tokens: TokenTable, cache: CredentialCache = CredentialCache(),
                throttle: FailureThrottle = FailureThrottle(), bcrypt: BcryptVerifier = BcryptVerifier(),
                sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }) {
        self.htpasswd = htpasswd
        self.tokens = tokens
        self.cache = cache
        self.throttle = throttle
        self.bcrypt = bcrypt
        self.sleep = sleep
    }

    /// The authentication of one request's `Authorization` header values when it costs no check:
    /// none sent (anonymous), or one credential verified before and still remembered. Nil
    /// otherwise; `authenticate(_:from:)` then decides.
    public func remembered(_ headers: [String]) -> Authentication? {
        guard let header = headers.first else { return .anonymous }
        guard headers.count == 1 else { return nil }
        return cache.principal(for: CredentialCache.key(header)).map(Authentication.authenticated)
    }

    /// Checks the `Authorization` header values of one request; `address` is the client's IP
    /// address (for the throttle), nil when unknown.
    public func authenticate(_ headers: [String], from address: String?) async -> Authentication {
        guard let header = headers.first else { return .anonymous }
        let address = address ?? "-"
        guard headers.count == 1 else {
            await waitIfThrottled(address)
            return failed(.malformed(.repeated), address)
        }
        let key = CredentialCache.key(header)
        if let principal = cache.principal(for: key) { return .authenticated(principal) }
        let leads = inflight.withLock { inflight -> Bool in
            if inflight[key] != nil { return false }
            inflight[key] = []
            return true
        }
        guard leads else {
            return await withCheckedContinuation { continuation in
                let waiting = inflight.withLock { inflight -> Bool in
                    guard inflight[key] != nil else { return false }
                    inflight[key]!.append(continuation)
                    return true
                }
                // The leader finished in between: its result is in the cache, or it failed.
                if !waiting {
                    continuation.resume(returning: cache.principal(for: key).map(Authentication.authenticated)
                                        ?? .failed(.wrongCredential))
                }
            }
        }
        let result = await check(header, key: key, address: address)
        let waiters = inflight.withLock { $0.removeValue(forKey: key) ?? [] }
        for waiter in waiters { waiter.resume(returning: result) }
        return result
    }

    /// Re-reads the htpasswd file and forgets every verified credential, so a removed user or a
    /// changed password takes effect at once. Returns whether the new file is in force.
    @discardableResult
    public func reload() -> Bool {
        cache.removeAll()
        return htpasswd?.reload() ?? true
    }

    private func check(_ header: String, key: CredentialCache.Key, address: String) async -> Authentication {
        await waitIfThrottled(address)
        let credential: Credential
        do { credential = try Credential(header: header) } catch { return failed(.malformed(error), address) }
        if let name = tokens.name(of: credential.secret) {
            return verified(Principal(name: name, kind: .token), key: key)
        }
        guard case .basic(let user, let password) = credential else { return failed(.unknownToken, address) }
        let hash = htpasswd?.hash(of: user)
        let matches = await bcrypt.verify(password, hash: hash ?? Self.decoyHash)
        guard matches, hash != nil else { return failed(.wrongCredential, address) }
        return verified(Principal(name: user, kind: .user), key: key)
    }

    /// Every credential not verified before waits while its address is being slowed down, a
    /// right one too: otherwise guesses sent in parallel would learn which one was right early.
    private func waitIfThrottled(_ address: String) async {
        let delay = throttle.delay(for: address)
        if delay > .zero { await sleep(delay) }
    }

    private func verified(_ principal: Principal, key: CredentialCache.Key) -> Authentication {
        cache.insert(principal, for: key)
        return .authenticated(principal)
    }

    private func failed(_ reason: Authentication.Failure, _ address: String) -> Authentication {
        throttle.recordFailure(from: address)
        return .failed(reason)
    }
}

/// The outcome of checking a request's credential.
public enum Authentication: Sendable, Equatable {
    /// No `Authorization` header.
    case anonymous
    case authenticated(Principal)
    /// A credential was sent and is wrong or unreadable (answered `401`).
    case failed(Failure)

    /// Why a credential failed; safe to log (names no user, password or token).
    public enum Failure: Sendable, Equatable, CustomStringConvertible {
        case malformed(MalformedCredential)
        /// A Bearer token that matches no configured token.
        case unknownToken
        /// An unknown user, a wrong password, or a Basic password that is no token.
        case wrongCredential

        public var description: String {
            switch self {
            case .malformed(let why): "\(why)"
            case .unknownToken: "unknown token"
            case .wrongCredential: "wrong user name, password or token"
            }
        }
    }

    /// The verified client, if any.
    public var principal: Principal? {
        if case .authenticated(let principal) = self { return principal }
        return nil
    }
}
