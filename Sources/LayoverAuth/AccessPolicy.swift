/// Who may do what, as configured: the rights of anonymous clients, the rules for authenticated
/// ones (first rule naming the client and matching the repository wins), and who may use the
/// admin endpoints. Pure value; no I/O.
///
/// Without an `auth` section authentication is off: on a loopback listener anonymous clients may
/// pull and push (as before authentication existed); on any other address they may only pull,
/// so that nobody who can reach the port pushes through the upstream's credentials unless the
/// operator said so. The admin endpoints then stay open, as before.
public struct AccessPolicy: Sendable {
    struct CompiledRule: Sendable {
        var anyone: Bool
        var names: Set<String>
        var patterns: [RepositoryPattern]
        var allow: Set<Right>
    }

    /// Whether an `auth` section is configured (credentials are checked, `401` challenges sent).
    public let authenticationEnabled: Bool
    /// The rights of a client without credentials.
    public let anonymous: Set<Right>
    public let adminUsers: Set<String>
    let rules: [CompiledRule]

    /// - Parameters:
    ///   - auth: the `auth` section; nil when the file has none.
    ///   - listenIsLoopback: whether the configured listen address is loopback (see `Loopback`).
    public init(auth: AuthConfiguration?, listenIsLoopback: Bool) {
        guard let auth else {
            authenticationEnabled = false
            anonymous = listenIsLoopback ? [.pull, .push] : [.pull]
            adminUsers = []
            rules = []
            return
        }
        authenticationEnabled = true
        anonymous = auth.anonymous
        adminUsers = Set(auth.adminUsers)
        rules = auth.effectiveRules.map { rule in
            CompiledRule(anyone: rule.who.contains("*"), names: Set(rule.who),
                         patterns: rule.repositories.map(RepositoryPattern.init), allow: rule.allow)
        }
    }

    /// The rights of `principal` (nil: anonymous) on a repository known by any of `names` (the
    /// same repository as `<upstream>/<repository>` in each spelling a rule may use). A client
    /// never has fewer rights than an anonymous one.
    public func rights(of principal: Principal?, repository names: [String]) -> Set<Right> {
        guard let principal else { return anonymous }
        return anonymous.union(rule(for: principal, repository: names)?.allow ?? [])
    }

    /// Whether `principal` (nil: anonymous) has `right` on the repository known by `names`: what
    /// `rights` says, without building the set (every request asks).
    public func has(_ right: Right, _ principal: Principal?, repository names: [String]) -> Bool {
        if anonymous.contains(right) { return true }
        guard let principal else { return false }
        return rule(for: principal, repository: names)?.allow.contains(right) ?? false
    }

    /// The first rule naming `principal` whose patterns match one of `names`.
    private func rule(for principal: Principal, repository names: [String]) -> CompiledRule? {
        rules.first { rule in
            (rule.anyone || rule.names.contains(principal.name))
                && rule.patterns.contains { pattern in names.contains(where: pattern.matches) }
        }
    }

    /// Decides one request, once its credential was checked.
    public func decide(_ need: AccessNeed, _ authentication: Authentication) -> AccessDecision {
        if case .open = need { return .allow }
        if case .failed(let why) = authentication { return .challenge("authentication failed: \(why)") }
        let principal = authentication.principal
        switch need {
        case .open:
            return .allow
        case .login:
            if principal != nil || !authenticationEnabled || !anonymous.isEmpty { return .allow }
            return .challenge("authentication required")
        case .repository(let right, let names):
            if has(right, principal, repository: names) { return .allow }
            let repository = names.first ?? "this repository"
            guard let principal else {
                if !authenticationEnabled { return .deny(Self.pushesOffByDefault) }
                return .challenge("authentication required to \(right) \(repository)")
            }
            return .deny("\(principal.name) may not \(right) \(repository)")
        case .admin(let clientIsLoopback):
            if !authenticationEnabled || clientIsLoopback { return .allow }
            if let principal, adminUsers.contains(principal.name) { return .allow }
            if adminUsers.isEmpty { return .deny("admin endpoints answer loopback clients only (list users in auth.adminUsers)") }
            guard let principal else { return .challenge("admin endpoints need the credentials of an auth.adminUsers entry") }
            return .deny("\(principal.name) is not in auth.adminUsers")
        }
    }

    /// Why an anonymous push is refused on a non-loopback listener without an `auth` section.
    public static let pushesOffByDefault = "pushes are refused: Layover listens on a non-loopback address and has no auth "
        + "section; configure auth (users or tokens with push rights), or allow anonymous pushes explicitly with "
        + "auth: {anonymous: [pull, push]}"
}

/// What a request needs before it may be served.
public enum AccessNeed: Sendable, Equatable {
    /// Nothing (`/healthz`, `/readyz`).
    case open
    /// A valid credential if one was sent; without one, some anonymous right (`GET /v2/`, the
    /// login probe, and paths that name no repository).
    case login
    /// `right` on the repository known by `names` (`<upstream>/<repository>` spellings).
    case repository(Right, names: [String])
    /// `/metrics` and `/_layover/*`.
    case admin(clientIsLoopback: Bool)
}

/// The verdict on one request.
public enum AccessDecision: Sendable, Equatable {
    case allow
    /// `401 UNAUTHORIZED` with a Basic challenge: no credential, or a wrong one.
    case challenge(String)
    /// `403 DENIED`: the client is known (or no credential could help) and lacks the right.
    case deny(String)
}
