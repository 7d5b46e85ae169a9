import Foundation

/// The `fleet:` section: the members this node shares its work with (DESIGN §8). Unset (no
/// peers, no DNS name), the node is a fleet of one: exactly a single Layover.
public struct FleetConfiguration: Sendable, Equatable {
    /// This node's URL as its peers reach it (`http://10.0.0.5:5000`); one of `peers`.
    public var advertise: String?
    /// Every member's URL, this node's included.
    public var peers: [String] = []
    /// The secret every peer request carries (the same on every member).
    public var secret: String?
    /// A file holding the secret (its surrounding whitespace ignored), read at start.
    public var secretFile: String?
    /// `NAME:PORT`: every A/AAAA record of NAME is a member at `http://ADDRESS:PORT` (a Kubernetes
    /// headless Service), re-resolved every few seconds.
    public var peersFromDNS: String?
    /// Blob downloads a node does not hold are redirected (`307`) to the digest's owner, so
    /// blob bytes go from the owner to the client, not through another node or the balancer.
    /// Clients must reach every member's advertised URL.
    public var redirectBlobs = false

    public init() {}

    /// Whether more than this node is configured.
    public var isEnabled: Bool { !peers.isEmpty || peersFromDNS != nil }

    /// The secret from `secret` or `secretFile`.
    public func resolvedSecret() throws(ConfigurationError) -> String? {
        if let secret { return secret }
        guard let secretFile else { return nil }
        let text: String
        do { text = try String(contentsOfFile: secretFile, encoding: .utf8) } catch {
            throw ConfigurationError("fleet.secretFile: cannot read \(secretFile): \(error.localizedDescription)")
        }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Checks the section: with members configured, an advertised URL among them and a secret.
    func validate() throws(ConfigurationError) {
        guard isEnabled else {
            if advertise != nil { throw ConfigurationError("fleet.advertise: set peers or peersFromDNS too") }
            return
        }
        guard let advertise else { throw ConfigurationError("fleet.advertise: required with peers or peersFromDNS") }
        guard let self_ = Self.normalized(advertise) else { throw ConfigurationError("fleet.advertise: expected http(s)://HOST:PORT, got \(advertise)") }
        for peer in peers where Self.normalized(peer) == nil {
            throw ConfigurationError("fleet.peers: expected http(s)://HOST:PORT, got \(peer)")
        }
        if peersFromDNS == nil, !peers.compactMap(Self.normalized).contains(self_) {
            throw ConfigurationError("fleet.peers: must include this node's advertised URL \(advertise)")
        }
        if let dns = peersFromDNS {
            guard let colon = dns.lastIndex(of: ":"), !dns[..<colon].isEmpty, let port = Int(dns[dns.index(after: colon)...]),
                  (1...65535).contains(port) else {
                throw ConfigurationError("fleet.peersFromDNS: expected NAME:PORT, got \(dns)")
            }
        }
        if (secret == nil) == (secretFile == nil) {
            throw ConfigurationError("fleet: set exactly one of secret and secretFile (peer requests are authenticated)")
        }
        if let secret, secret.count < 16 { throw ConfigurationError("fleet.secret: use at least 16 characters") }
    }

    /// `scheme://host:port` lower-cased without a trailing slash, or nil when `url` is not an
    /// http(s) URL with a host.
    public static func normalized(_ url: String) -> String? {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = parsed.host, !host.isEmpty, parsed.path.isEmpty || parsed.path == "/", parsed.query == nil else { return nil }
        let port = parsed.port ?? (scheme == "https" ? 443 : 80)
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(bracketed.lowercased()):\(port)"
    }
}

extension LayoverConfiguration {
    /// The `fleet:` section as the file holds it.
    struct FleetSection: Decodable {
        var advertise: String?
        var peers: [String]?
        var secret: String?
        var secretFile: String?
        var peersFromDNS: String?
        var redirectBlobs: Bool?
    }

    /// Applies the `fleet:` section.
    mutating func apply(fleet section: FleetSection) {
        if let advertise = section.advertise { fleet.advertise = advertise }
        if let peers = section.peers { fleet.peers = peers }
        if let secret = section.secret { fleet.secret = secret }
        if let secretFile = section.secretFile { fleet.secretFile = secretFile }
        if let dns = section.peersFromDNS { fleet.peersFromDNS = dns }
        if let redirect = section.redirectBlobs { fleet.redirectBlobs = redirect }
    }
}
