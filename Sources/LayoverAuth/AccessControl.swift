import Foundation
import Logging

/// Client access as the front applies it: the policy, and the authenticator when an `auth`
/// section turns authentication on. Built once at startup; `reload()` re-reads the htpasswd
/// file (wired to SIGHUP). Thread-safe.
public final class AccessControl: Sendable {
    public let policy: AccessPolicy
    /// Nil when authentication is off: `Authorization` headers are then not looked at.
    public let authenticator: Authenticator?

    /// - Parameters:
    ///   - auth: the `auth` section, nil when there is none.
    ///   - listenHost: the configured listen address (decides the default without `auth`).
    /// - Throws: `AuthError` when the htpasswd file cannot be read or parsed.
    public init(auth: AuthConfiguration?, listenHost: String, logger: Logger = Logger(label: "layover.auth")) throws(AuthError) {
        policy = AccessPolicy(auth: auth, listenIsLoopback: Loopback.contains(listenHost))
        guard let auth else {
            authenticator = nil
            return
        }
        let htpasswd = try auth.htpasswd.map { path throws(AuthError) in try HtpasswdFile(path: path, logger: logger) }
        authenticator = Authenticator(htpasswd: htpasswd, tokens: TokenTable(auth.tokens),
                                      bcrypt: BcryptVerifier(width: min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))))
    }

    /// Open access: every client may pull and push, admin endpoints open (tests, embedding).
    public init() {
        policy = AccessPolicy(auth: nil, listenIsLoopback: true)
        authenticator = nil
    }

    /// The credential check of one request (`anonymous` when authentication is off).
    public func authenticate(_ headers: [String], from address: String?) async -> Authentication {
        guard let authenticator else { return .anonymous }
        return await authenticator.authenticate(headers, from: address)
    }

    /// The credential check of one request when it costs nothing (see
    /// `Authenticator.remembered(_:)`); nil when `authenticate(_:from:)` must run.
    public func rememberedAuthentication(_ headers: [String]) -> Authentication? {
        guard let authenticator else { return .anonymous }
        return authenticator.remembered(headers)
    }

    /// Re-reads the htpasswd file (keeping the old users if it fails) and forgets cached
    /// credentials. Returns whether the file in force is the new one.
    @discardableResult
    public func reload() -> Bool {
        authenticator?.reload() ?? true
    }
}
