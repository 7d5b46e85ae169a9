import LayoverWire

/// The `auth:` section of the configuration file, as plain values (checked by the configuration
/// loader; see docs/configuration.md). Its presence turns client authentication on.
public struct AuthConfiguration: Sendable, Equatable {
    /// An htpasswd file of bcrypt entries (`htpasswd -B`); re-read by `reload()`.
    public var htpasswd: String?
    /// Tokens (for CI), each known by a name and stored as the SHA-256 of its text.
    public var tokens: [Token]
    /// The rights of a client that sends no credential.
    public var anonymous: Set<Right>
    /// Who may do what, first match wins; nil: any authenticated client may pull and push everything.
    public var rules: [AccessRule]?
    /// Users and tokens allowed on `/metrics` and `/_layover/*` (loopback clients always are).
    public var adminUsers: [String]

    public init(htpasswd: String? = nil, tokens: [Token] = [], anonymous: Set<Right> = [],
                rules: [AccessRule]? = nil, adminUsers: [String] = []) {
        self.htpasswd = htpasswd
        self.tokens = tokens
        self.anonymous = anonymous
        self.rules = rules
        self.adminUsers = adminUsers
    }

    /// The rules in force: the configured ones, or the single default rule.
    public var effectiveRules: [AccessRule] { rules ?? [.anyAuthenticatedClient] }

    /// A token: its name (for rules and logs) and the SHA-256 of its text.
    public struct Token: Sendable, Equatable {
        public var name: String
        public var sha256: Digest

        public init(name: String, sha256: Digest) {
            self.name = name
            self.sha256 = sha256
        }
    }
}

/// One rule: the clients it names, the repositories it covers, the rights it grants.
public struct AccessRule: Sendable, Equatable {
    /// User names, token names, or `*` for any authenticated client.
    public var who: [String]
    /// Glob patterns over `<upstream>/<repository>` (see `RepositoryPattern`).
    public var repositories: [String]
    public var allow: Set<Right>

    public init(who: [String], repositories: [String], allow: Set<Right>) {
        self.who = who
        self.repositories = repositories
        self.allow = allow
    }

    /// The rule in force when the `auth` section has no `rules`: any authenticated client may
    /// pull and push everything (as distribution's htpasswd mode).
    public static let anyAuthenticatedClient = AccessRule(who: ["*"], repositories: ["*"], allow: [.pull, .push])
}
