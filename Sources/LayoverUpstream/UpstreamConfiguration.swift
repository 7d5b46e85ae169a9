/// One upstream registry as configured.
public struct UpstreamConfiguration: Sendable, Equatable {
    /// The name clients use for it: the first path component in registry mode, or `ns=`.
    public var name: String
    /// The registry's base URL, e.g. `https://registry-1.docker.io` (no trailing slash).
    public var url: String
    /// Credentials for the token endpoint or Basic auth; nil for anonymous access.
    public var credentials: Credentials?
    /// How long a revalidated tag is trusted without asking again, in seconds (0: always ask).
    public var tagFreshnessSeconds: Double
    /// How long a push upload may go without the upstream accepting a byte before it counts as
    /// a (transient) failure, in seconds.
    public var stallTimeoutSeconds: Double = 60

    public struct Credentials: Sendable, Equatable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public init(name: String, url: String, credentials: Credentials? = nil, tagFreshnessSeconds: Double = 0) {
        self.name = name
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.credentials = credentials
        self.tagFreshnessSeconds = tagFreshnessSeconds
    }

    /// The host (and port) part of `url`, for matching `ns=` values.
    public var host: String {
        var rest = Substring(url)
        if let range = rest.range(of: "://") { rest = rest[range.upperBound...] }
        return String(rest.prefix { $0 != "/" })
    }

    /// Whether the upstream is Docker Hub, whose one-component names get `library/`.
    public var isDockerHub: Bool {
        name == "docker.io" || host == "registry-1.docker.io" || host == "index.docker.io"
    }
}
