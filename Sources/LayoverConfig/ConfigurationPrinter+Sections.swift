import Foundation
import LayoverAuth

extension ConfigurationPrinter {
    /// The `auth`, `tls` and `limits` sections. Token hashes are printed (they are not secrets);
    /// nothing else of a credential is ever held here.
    static func sectionLines(_ configuration: LayoverConfiguration) -> [String] {
        var lines: [String] = []
        if let auth = configuration.auth {
            lines.append("auth:")
            if let htpasswd = auth.htpasswd { lines.append("  htpasswd: \(quoted(htpasswd))") }
            if !auth.tokens.isEmpty {
                lines.append("  tokens:")
                for token in auth.tokens {
                    lines.append("    - name: \(quoted(token.name))")
                    lines.append("      sha256: \(token.sha256.encoded)")
                }
            }
            lines.append("  anonymous: \(rights(auth.anonymous))")
            lines.append("  rules:\(auth.rules == nil ? "   # none configured: any authenticated client may pull and push" : "")")
            for rule in auth.effectiveRules {
                lines.append("    - who: \(list(rule.who))")
                lines.append("      repositories: \(list(rule.repositories))")
                lines.append("      allow: \(rights(rule.allow))")
            }
            lines.append("  adminUsers: \(list(auth.adminUsers))")
        } else if !Loopback.contains(configuration.listenHost) {
            lines.append("# no auth section: anonymous clients may pull; pushes are refused on this non-loopback address")
        }
        if configuration.tlsCertificate != nil || configuration.tlsKey != nil {
            lines.append("tls:")
            if let certificate = configuration.tlsCertificate { lines.append("  certificate: \(quoted(certificate))") }
            if let key = configuration.tlsKey { lines.append("  key: \(quoted(key))") }
        }
        let limits = configuration.limits
        lines.append("limits:")
        lines.append("  headerTimeoutSeconds: \(limits.headerTimeoutSeconds)")
        lines.append("  idleTimeoutSeconds: \(limits.idleTimeoutSeconds)")
        lines.append("  maxHeaderBytes: \(limits.maxHeaderBytes)")
        lines.append("  maxConcurrentStreams: \(limits.maxConcurrentStreams)")
        if let bytes = limits.maxUploadBytes { lines.append("  maxUploadBytes: \(ByteSize.format(bytes))") }
        return lines + fleetLines(configuration.fleet) + interceptLines(configuration.intercept)
    }

    /// The `intercept` section, when its listener is on.
    static func interceptLines(_ intercept: InterceptConfiguration) -> [String] {
        guard let listen = intercept.listen else { return [] }
        var lines = ["intercept:", "  listen: \(quoted(listen))", "  tunnel: \(intercept.tunnel.rawValue)",
                     "  tunnelPorts: [\(intercept.tunnelPorts.map(String.init).joined(separator: ", "))]"]
        if intercept.caCertificate != nil || intercept.caKey != nil {
            lines.append("  ca:")
            if let certificate = intercept.caCertificate { lines.append("    certificate: \(quoted(certificate))") }
            if let key = intercept.caKey { lines.append("    key: \(quoted(key))") }
        }
        return lines
    }

    /// The `fleet` section, when members are configured; the secret masked.
    static func fleetLines(_ fleet: FleetConfiguration) -> [String] {
        guard fleet.isEnabled || fleet.advertise != nil else { return [] }
        var lines = ["fleet:"]
        if let advertise = fleet.advertise { lines.append("  advertise: \(quoted(advertise))") }
        if !fleet.peers.isEmpty { lines.append("  peers: \(list(fleet.peers))") }
        if let dns = fleet.peersFromDNS { lines.append("  peersFromDNS: \(quoted(dns))") }
        if fleet.secret != nil { lines.append("  secret: '********'") }
        if let file = fleet.secretFile { lines.append("  secretFile: \(quoted(file))") }
        if fleet.redirectBlobs { lines.append("  redirectBlobs: true") }
        return lines
    }

    /// A YAML single-quoted string (`*` and other indicators are safe inside; `'` is doubled).
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }

    static func list(_ items: [String]) -> String {
        "[" + items.map(quoted).joined(separator: ", ") + "]"
    }

    static func rights(_ rights: Set<Right>) -> String {
        "[" + rights.sorted().map(\.rawValue).joined(separator: ", ") + "]"
    }
}
