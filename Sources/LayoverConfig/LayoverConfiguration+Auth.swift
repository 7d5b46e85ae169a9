import LayoverAuth
import LayoverWire

extension LayoverConfiguration {
    /// The `auth:` section as the file holds it, checked into an `AuthConfiguration`.
    struct AuthSection: Decodable {
        var htpasswd: String?
        var tokens: [Token]?
        var anonymous: StringList?
        var rules: [Rule]?
        var adminUsers: StringList?

        struct Token: Decodable {
            var name: String?
            var sha256: String?
        }

        struct Rule: Decodable {
            var who: StringList?
            var repositories: StringList?
            var allow: StringList?
        }

        /// Checks every value; errors name the key (`auth.rules[1].allow: unknown right …`).
        func configuration() throws(ConfigurationError) -> AuthConfiguration {
            var auth = AuthConfiguration()
            if let htpasswd {
                guard !htpasswd.isEmpty else { throw ConfigurationError("auth.htpasswd: empty path") }
                auth.htpasswd = htpasswd
            }
            for (index, token) in (tokens ?? []).enumerated() {
                let key = "auth.tokens[\(index)]"
                guard let name = token.name, !name.isEmpty else { throw ConfigurationError("\(key).name: missing") }
                guard !auth.tokens.contains(where: { $0.name == name }) else {
                    throw ConfigurationError("\(key).name: token \(name) appears twice")
                }
                guard let hex = token.sha256, let digest = try? Digest(algorithm: .sha256, hex: hex.lowercased()) else {
                    throw ConfigurationError("\(key).sha256: expected the token's SHA-256 as 64 hex digits "
                                             + "(printf %s \"$TOKEN\" | sha256sum)")
                }
                auth.tokens.append(.init(name: name, sha256: digest))
            }
            auth.anonymous = try Self.rights(anonymous?.values ?? [], key: "auth.anonymous")
            if let rules {
                auth.rules = try rules.enumerated().map { (index, rule) throws(ConfigurationError) in
                    let key = "auth.rules[\(index)]"
                    guard let who = rule.who?.values, !who.isEmpty, who.allSatisfy({ !$0.isEmpty }) else {
                        throw ConfigurationError("\(key).who: name users or tokens, or \"*\" for any authenticated client")
                    }
                    guard let repositories = rule.repositories?.values, !repositories.isEmpty,
                          repositories.allSatisfy({ !$0.isEmpty }) else {
                        throw ConfigurationError("\(key).repositories: name repository patterns, e.g. \"ghcr.io/org/*\"")
                    }
                    guard let allow = rule.allow?.values else {
                        throw ConfigurationError("\(key).allow: missing (pull, push, or [] for neither)")
                    }
                    return AccessRule(who: who, repositories: repositories, allow: try Self.rights(allow, key: "\(key).allow"))
                }
            }
            auth.adminUsers = adminUsers?.values ?? []
            return auth
        }

        static func rights(_ names: [String], key: String) throws(ConfigurationError) -> Set<Right> {
            var rights: Set<Right> = []
            for name in names {
                guard let right = Right(rawValue: name) else {
                    throw ConfigurationError("\(key): unknown right `\(name)` (expected pull or push)")
                }
                rights.insert(right)
            }
            return rights
        }
    }
}
