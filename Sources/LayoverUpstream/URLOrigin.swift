import Foundation

/// The origin of a URL (RFC 6454): scheme, host and port, normalised (lowercase, default port
/// filled in). Credentials and challenges are trusted by origin: the configured upstream's only.
public struct URLOrigin: Hashable, Sendable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int

    /// The origin of an absolute `http`/`https` URL; nil for anything else.
    public init?(_ url: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else { return nil }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
    }

    public var description: String { "\(scheme)://\(host):\(port)" }
}

/// Resolves redirect `Location` values the way RFC 3986 §5.2 says, with Foundation's URL parser:
/// a query holding `://` is still a relative reference, `//host/path` names another authority.
enum URLResolver {
    /// The absolute URL `reference` designates relative to `base`, without its fragment (a
    /// fragment never goes on the wire); nil when either does not parse or the result is not
    /// `http`/`https`.
    static func resolve(_ reference: String, against base: String) -> String? {
        guard let baseURL = URL(string: base) else { return nil }
        // RFC 3986 §5.2.2: an empty reference is the base itself.
        let resolved = reference.isEmpty ? baseURL : URL(string: reference, relativeTo: baseURL)
        guard let absolute = resolved?.absoluteURL, var components = URLComponents(url: absolute, resolvingAgainstBaseURL: false),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              components.host?.isEmpty == false else { return nil }
        components.fragment = nil
        return components.string
    }
}
