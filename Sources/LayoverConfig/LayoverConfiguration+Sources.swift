import LayoverAuth
import LayoverUpstream
import Yams

extension LayoverConfiguration {
    private struct File: Decodable {
        var listen: String?
        var storage: String?
        var maxBytes: String?
        var indexSynchronous: String?
        var defaultUpstream: String?
        var uploadTimeoutSeconds: Double?
        var maxUploadSessions: Int?
        var maxUploadSessionsPerClient: Int?
        var maxConnections: Int?
        var accessLog: Bool?
        var logFormat: String?
        var shutdownGraceSeconds: Double?
        var upstreamIdleTimeoutSeconds: Double?
        var scrubBytesPerSecond: String?
        var eventLoops: Int?
        var upstreams: [String: Upstream]?
        var auth: AuthSection?
        var tls: TLSSection?
        var limits: LimitsSection?
        var fleet: FleetSection?
        var intercept: InterceptSection?

        struct TLSSection: Decodable {
            var certificate: String?
            var key: String?
        }

        struct Upstream: Decodable {
            var url: String
            var username: String?
            var password: String?
            var tagFreshnessSeconds: Double?
            var push: String?
            var allowDelete: Bool?
            var stallTimeoutSeconds: Double?
            var uploadChunkSize: String?
            var prefetch: PrefetchSection?
        }

        struct PrefetchSection: Decodable {
            var cacheManifests: Bool?
            var maxBytes: String?
            var concurrency: Int?
        }
    }

    /// Applies a YAML configuration file's keys (see docs/configuration.md).
    public mutating func apply(yaml: String) throws(ConfigurationError) {
        let file: File
        let node: Node
        do {
            // An empty or comment-only file is a valid configuration that changes nothing.
            guard let composed = try Yams.compose(yaml: yaml) else { return }
            node = composed
        } catch {
            throw ConfigurationError("config file: \(error)")
        }
        // A misspelt key must not be ignored: `auht:` would leave the proxy open.
        try ConfigurationKeys.check(node)
        do {
            file = try YAMLDecoder().decode(File.self, from: node)
        } catch {
            throw ConfigurationError("config file: \(error)")
        }
        if let listen = file.listen { try setListen(listen) }
        if let storage = file.storage { self.storage = storage }
        if let text = file.maxBytes {
            guard let bytes = ByteSize.parse(text) else { throw ConfigurationError("maxBytes: cannot parse \(text)") }
            maxBytes = bytes
        }
        if let synchronous = file.indexSynchronous { indexSynchronous = synchronous }
        for (name, upstream) in file.upstreams ?? [:] {
            try addUpstream(name: name, url: upstream.url)
            if let username = upstream.username, let password = upstream.password {
                upstreams[name]?.credentials = .init(username: username, password: password)
            }
            if let freshness = upstream.tagFreshnessSeconds { upstreams[name]?.tagFreshnessSeconds = freshness }
            if let mode = upstream.push { pushModes[name] = mode }
            if upstream.allowDelete == true { deletionAllowed.insert(name) }
            if let stall = upstream.stallTimeoutSeconds {
                guard stall > 0 else { throw ConfigurationError("upstreams.\(name).stallTimeoutSeconds: must be above zero") }
                upstreams[name]?.stallTimeoutSeconds = stall
            }
            if let text = upstream.uploadChunkSize {
                guard let bytes = ByteSize.parse(text), bytes >= 1 << 20 else {
                    throw ConfigurationError("upstreams.\(name).uploadChunkSize: expected a size of at least 1MiB, got \(text)")
                }
                upstreams[name]?.uploadChunkBytes = bytes
            }
            if let prefetch = upstream.prefetch { try apply(prefetch: prefetch, to: name) }
        }
        if let defaultUpstream = file.defaultUpstream { self.defaultUpstream = defaultUpstream }
        if let timeout = file.uploadTimeoutSeconds { uploadTimeoutSeconds = timeout }
        if let sessions = file.maxUploadSessions { maxUploadSessions = sessions }
        if let sessions = file.maxUploadSessionsPerClient { maxUploadSessionsPerClient = sessions }
        if let connections = file.maxConnections { maxConnections = connections }
        if let accessLog = file.accessLog { self.accessLog = accessLog }
        if let logFormat = file.logFormat { self.logFormat = logFormat }
        if let grace = file.shutdownGraceSeconds { shutdownGraceSeconds = grace }
        if let idle = file.upstreamIdleTimeoutSeconds { upstreamIdleTimeoutSeconds = idle }
        if let text = file.scrubBytesPerSecond { scrubBytesPerSecond = try Self.scrubRate(text, from: "scrubBytesPerSecond") }
        if let loops = file.eventLoops { eventLoops = loops }
        // `auth:` with nothing under it still turns authentication on (nothing is open).
        if let auth = file.auth { self.auth = try auth.configuration() } else if node["auth"] != nil { self.auth = AuthConfiguration() }
        if let certificate = file.tls?.certificate { tlsCertificate = certificate }
        if let key = file.tls?.key { tlsKey = key }
        if let limits = file.limits { try apply(limits: limits) }
        if let fleet = file.fleet { apply(fleet: fleet) }
        if let intercept = file.intercept { try apply(intercept: intercept) }
    }

    /// Applies an upstream's `prefetch:` section over its current policy.
    private mutating func apply(prefetch section: File.PrefetchSection, to name: String) throws(ConfigurationError) {
        var policy = upstreams[name]?.prefetch ?? PrefetchPolicy()
        if let enabled = section.cacheManifests { policy.cacheManifests = enabled }
        if let text = section.maxBytes {
            guard let bytes = ByteSize.parse(text) else {
                throw ConfigurationError("upstreams.\(name).prefetch.maxBytes: cannot parse \(text)")
            }
            policy.maxBytes = bytes
        }
        if let concurrency = section.concurrency {
            guard (1...64).contains(concurrency) else {
                throw ConfigurationError("upstreams.\(name).prefetch.concurrency: expected 1 to 64, got \(concurrency)")
            }
            policy.concurrency = concurrency
        }
        upstreams[name]?.prefetch = policy
    }

    /// Applies `LAYOVER_*` environment variables: `LAYOVER_LISTEN`, `LAYOVER_STORAGE`,
    /// `LAYOVER_MAX_BYTES`, `LAYOVER_DEFAULT_UPSTREAM`, `LAYOVER_ACCESS_LOG` (`true`/`false`),
    /// `LAYOVER_LOG_FORMAT`, `LAYOVER_SHUTDOWN_GRACE_SECONDS`, `LAYOVER_UPSTREAM_IDLE_TIMEOUT_SECONDS`, `LAYOVER_SCRUB_BYTES_PER_SECOND`, `LAYOVER_EVENT_LOOPS`, `LAYOVER_FLEET_ADVERTISE`, `LAYOVER_FLEET_SECRET`, and per upstream
    /// `LAYOVER_UPSTREAM_<NAME>_USERNAME` / `_PASSWORD` (NAME upper-cased, `.` and `-` as `_`).
    public mutating func apply(environment: [String: String]) throws(ConfigurationError) {
        if let listen = environment["LAYOVER_LISTEN"] { try setListen(listen) }
        if let storage = environment["LAYOVER_STORAGE"] { self.storage = storage }
        if let text = environment["LAYOVER_MAX_BYTES"] {
            guard let bytes = ByteSize.parse(text) else { throw ConfigurationError("LAYOVER_MAX_BYTES: cannot parse \(text)") }
            maxBytes = bytes
        }
        if let name = environment["LAYOVER_DEFAULT_UPSTREAM"] { defaultUpstream = name }
        if let text = environment["LAYOVER_ACCESS_LOG"] {
            switch text.lowercased() {
            case "true", "1", "yes", "on": accessLog = true
            case "false", "0", "no", "off": accessLog = false
            default: throw ConfigurationError("LAYOVER_ACCESS_LOG: expected true or false, got \(text)")
            }
        }
        if let format = environment["LAYOVER_LOG_FORMAT"] { logFormat = format }
        if let text = environment["LAYOVER_SHUTDOWN_GRACE_SECONDS"] {
            guard let grace = Double(text) else { throw ConfigurationError("LAYOVER_SHUTDOWN_GRACE_SECONDS: not a number: \(text)") }
            shutdownGraceSeconds = grace
        }
        if let text = environment["LAYOVER_UPSTREAM_IDLE_TIMEOUT_SECONDS"] {
            guard let idle = Double(text) else { throw ConfigurationError("LAYOVER_UPSTREAM_IDLE_TIMEOUT_SECONDS: not a number: \(text)") }
            upstreamIdleTimeoutSeconds = idle
        }
        if let text = environment["LAYOVER_SCRUB_BYTES_PER_SECOND"] {
            scrubBytesPerSecond = try Self.scrubRate(text, from: "LAYOVER_SCRUB_BYTES_PER_SECOND")
        }
        if let text = environment["LAYOVER_EVENT_LOOPS"] {
            guard let loops = Int(text) else { throw ConfigurationError("LAYOVER_EVENT_LOOPS: not a whole number: \(text)") }
            eventLoops = loops
        }
        if let advertise = environment["LAYOVER_FLEET_ADVERTISE"] { fleet.advertise = advertise }
        if let secret = environment["LAYOVER_FLEET_SECRET"] { fleet.secret = secret }
        for name in upstreams.keys {
            let prefix = "LAYOVER_UPSTREAM_\(Self.environmentName(name))_"
            if let username = environment[prefix + "USERNAME"], let password = environment[prefix + "PASSWORD"] {
                upstreams[name]?.credentials = .init(username: username, password: password)
            }
        }
    }

    /// A scrub rate: bytes per second as a number or a size (`50MiB`); 0 turns the scrub off.
    private static func scrubRate(_ text: String, from source: String) throws(ConfigurationError) -> Int64 {
        guard let bytes = ByteSize.parse(text) else {
            throw ConfigurationError("\(source): expected bytes per second (a number or a size such as 50MiB), got \(text)")
        }
        return bytes
    }

    /// `ghcr.io` → `GHCR_IO`.
    public static func environmentName(_ upstream: String) -> String {
        String(upstream.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }
}
