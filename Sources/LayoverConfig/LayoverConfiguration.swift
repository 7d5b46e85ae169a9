import LayoverAuth
import LayoverUpstream

/// Everything `layover serve` needs, from the embedded default overridden in order by the YAML
/// file, the environment and the command line.
public struct LayoverConfiguration: Sendable, Equatable {
    /// The address to listen on.
    public var listenHost: String
    public var listenPort: Int
    /// The store's root directory.
    public var storage: String
    /// The store's byte budget.
    public var maxBytes: Int64
    /// The index's SQLite `synchronous` setting: `full` (a `201` survives power loss) or `normal`
    /// (faster acknowledgements; an OS crash or power loss may roll back acknowledged pushes).
    public var indexSynchronous = "full"
    /// The upstreams, by name.
    public var upstreams: [String: UpstreamConfiguration]
    /// The upstream for names without a prefix (Docker Hub by default).
    public var defaultUpstream: String?
    /// How pushes to each upstream are replicated: `async` (default), `sync` or `local`.
    public var pushModes: [String: String] = [:]
    /// Upstreams on which clients may delete manifests and blobs (forwarded upstream).
    public var deletionAllowed: Set<String> = []
    /// Seconds an upload session may stay idle before its bytes are freed.
    public var uploadTimeoutSeconds: Double = 900
    /// Upload sessions open at once, at most (each holds a file descriptor); past it, `429`.
    public var maxUploadSessions = 1024
    /// Upload sessions one client (by address) may hold open at once; past it, `429`.
    public var maxUploadSessionsPerClient = 256
    /// Connections served at once (past it only `/healthz`, else `503`); nil: derived from the
    /// open-file limit at start.
    public var maxConnections: Int?
    /// One log line per answered request (method, path, status, bytes, milliseconds, request id).
    public var accessLog = true
    /// `text` (one line per event, `key=value` metadata) or `json` (one JSON object per line).
    public var logFormat = "text"
    /// On SIGTERM, how long answers in progress may take before their connections are closed.
    public var shutdownGraceSeconds: Double = 30
    /// An upstream download that delivers no byte for this long is resumed from the byte reached
    /// (a new request with `Range`), as is one whose connection breaks.
    public var upstreamIdleTimeoutSeconds: Double = 30
    /// The background scrub's rate: stored blobs are re-hashed continuously at this many bytes
    /// per second, corrupt ones quarantined; 0 (the default): no background scrub.
    public var scrubBytesPerSecond: Int64 = 0
    /// The front's event-loop threads, each serving its share of the connections; nil (the
    /// default): one per core. Fewer leave cores to what shares the machine (CI jobs beside a
    /// node-local cache), whose threads would otherwise preempt a loop and stall all its connections.
    public var eventLoops: Int?
    /// The `auth` section (client authentication and rights); nil when the file has none: then
    /// anonymous clients may pull, and push only on a loopback listener (see `AccessPolicy`).
    public var auth: AuthConfiguration?
    /// The TLS certificate chain (PEM); set together with `tlsKey`, or neither (cleartext).
    public var tlsCertificate: String?
    /// The TLS private key (PEM).
    public var tlsKey: String?
    /// Timeouts and sizes that bound what one client may cost.
    public var limits = Limits()
    /// The other nodes this one works with; empty: a fleet of one.
    public var fleet = FleetConfiguration()
    /// The forward-proxy listener of intercept mode; off unless `intercept.listen` is set.
    public var intercept = InterceptConfiguration()

    /// The embedded default: `127.0.0.1:5000`, `./layover-data`, 20 GiB, Docker Hub as default
    /// plus ghcr.io, quay.io, registry.k8s.io and gcr.io.
    public static let embeddedDefault = LayoverConfiguration(
        listenHost: "127.0.0.1",
        listenPort: 5000,
        storage: "./layover-data",
        maxBytes: 20 * 1024 * 1024 * 1024,
        upstreams: Dictionary(uniqueKeysWithValues: [
            UpstreamConfiguration(name: "docker.io", url: "https://registry-1.docker.io"),
            UpstreamConfiguration(name: "ghcr.io", url: "https://ghcr.io"),
            UpstreamConfiguration(name: "quay.io", url: "https://quay.io"),
            UpstreamConfiguration(name: "registry.k8s.io", url: "https://registry.k8s.io"),
            UpstreamConfiguration(name: "gcr.io", url: "https://gcr.io"),
        ].map { ($0.name, $0) }),
        defaultUpstream: "docker.io")

    /// Parses `HOST:PORT` (`[v6]:PORT` too) into `listenHost`/`listenPort`.
    public mutating func setListen(_ text: String) throws(ConfigurationError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw ConfigurationError("listen: expected HOST:PORT, got \(text)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        listenHost = host.isEmpty ? "0.0.0.0" : host
        listenPort = port
    }

    /// Parses `NAME=URL` and adds or replaces that upstream (credentials of a replaced one are kept).
    public mutating func setUpstream(_ text: String) throws(ConfigurationError) {
        guard let equals = text.firstIndex(of: "=") else {
            throw ConfigurationError("upstream: expected NAME=URL, got \(text)")
        }
        let name = String(text[..<equals])
        let url = String(text[text.index(after: equals)...])
        try addUpstream(name: name, url: url)
    }

    mutating func addUpstream(name: String, url: String) throws(ConfigurationError) {
        guard !name.isEmpty, !name.contains("/") else { throw ConfigurationError("upstream: bad name \(name)") }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw ConfigurationError("upstream \(name): URL must start with https:// or http://, got \(url)")
        }
        var upstream = UpstreamConfiguration(name: name, url: url)
        if let existing = upstreams[name] {
            upstream.credentials = existing.credentials
            upstream.tagFreshnessSeconds = existing.tagFreshnessSeconds
            upstream.stallTimeoutSeconds = existing.stallTimeoutSeconds
            upstream.uploadChunkBytes = existing.uploadChunkBytes
            upstream.prefetch = existing.prefetch
        }
        upstreams[name] = upstream
    }

    /// Checks the whole: a default upstream that exists, a budget above zero.
    public func validated() throws(ConfigurationError) -> LayoverConfiguration {
        if let defaultUpstream, upstreams[defaultUpstream] == nil {
            throw ConfigurationError("defaultUpstream: \(defaultUpstream) is not a configured upstream")
        }
        guard maxBytes > 0 else { throw ConfigurationError("maxBytes: must be above zero") }
        for (name, mode) in pushModes where !["async", "sync", "local"].contains(mode) {
            throw ConfigurationError("upstreams.\(name).push: expected async, sync or local, got \(mode)")
        }
        guard ["full", "normal"].contains(indexSynchronous) else {
            throw ConfigurationError("indexSynchronous: expected full or normal, got \(indexSynchronous)")
        }
        guard ["text", "json"].contains(logFormat) else {
            throw ConfigurationError("logFormat: expected text or json, got \(logFormat)")
        }
        guard shutdownGraceSeconds >= 0 else { throw ConfigurationError("shutdownGraceSeconds: must not be negative") }
        guard upstreamIdleTimeoutSeconds > 0 else { throw ConfigurationError("upstreamIdleTimeoutSeconds: must be above zero") }
        guard scrubBytesPerSecond >= 0 else { throw ConfigurationError("scrubBytesPerSecond: must not be negative") }
        if let eventLoops, !(1...256).contains(eventLoops) {
            throw ConfigurationError("eventLoops: expected 1 to 256, got \(eventLoops)")
        }
        guard uploadTimeoutSeconds > 0 else { throw ConfigurationError("uploadTimeoutSeconds: must be above zero") }
        guard maxUploadSessions > 0 else { throw ConfigurationError("maxUploadSessions: must be above zero") }
        guard maxUploadSessionsPerClient > 0 else { throw ConfigurationError("maxUploadSessionsPerClient: must be above zero") }
        if let maxConnections, maxConnections <= 0 { throw ConfigurationError("maxConnections: must be above zero") }
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw ConfigurationError("tls: set both certificate and key, or neither")
        }
        try validateLimits()
        try fleet.validate()
        try intercept.validate()
        return self
    }
}
