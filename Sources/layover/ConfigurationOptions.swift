import ArgumentParser
import Foundation
import LayoverConfig
import LayoverStore

/// The configuration flags `serve`, `verify` and `warm` share, each overriding the config file
/// and the environment.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "A YAML configuration file.")
    var config: String?

    @Option(help: "The address to listen on, HOST:PORT (port 0 picks a free one).")
    var listen: String?

    @Option(help: "The store's root directory.")
    var storage: String?

    @Option(name: .customLong("max-bytes"), help: "The store's byte budget: 512MiB, 20GiB, or plain bytes.")
    var maxBytes: String?

    @Option(name: .customLong("upstream"), help: "An upstream, NAME=URL (repeatable; http:// allowed for private registries).")
    var upstreams: [String] = []

    @Option(name: .customLong("default-upstream"), help: "The upstream for names without a prefix.")
    var defaultUpstream: String?

    @Option(name: .customLong("upstream-idle-timeout"),
            help: "Seconds an upstream answer may deliver no byte before the download resumes from where it was (default 30).")
    var upstreamIdleTimeout: Double?

    @Option(name: .customLong("event-loops"), help: "The front's event-loop threads (default: one per core).")
    var eventLoops: Int?

    @Option(name: .customLong("tls-cert"), help: "TLS certificate chain, PEM (with --tls-key; re-read on SIGHUP).")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "TLS private key, PEM (with --tls-cert; re-read on SIGHUP).")
    var tlsKey: String?

    @Option(help: "This node's URL as its fleet peers reach it, e.g. http://10.0.0.5:5000 (with --peer).")
    var advertise: String?

    @Option(name: .customLong("peer"), help: "A fleet member's URL (repeatable: every member, this node included).")
    var peers: [String] = []

    @Option(name: .customLong("intercept-listen"),
            help: "Intercept mode: the forward-proxy address clients use as HTTPS_PROXY, HOST:PORT (needs `layover ca init`).")
    var interceptListen: String?

    @Flag(name: .customLong("redirect-blobs"),
          help: "Fleet: redirect blob downloads this node does not hold to the digest's owner (clients must reach every member).")
    var redirectBlobs = false

    /// The embedded default, then the YAML file, the environment and these flags, validated.
    func effectiveConfiguration() throws -> LayoverConfiguration {
        var configuration = LayoverConfiguration.embeddedDefault
        if let config {
            let text: String
            do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
                throw ValidationError("cannot read config file \(config): \(error.localizedDescription)")
            }
            try configuration.apply(yaml: text)
        }
        try configuration.apply(environment: ProcessInfo.processInfo.environment)
        if let listen { try configuration.setListen(listen) }
        if let storage { configuration.storage = storage }
        if let maxBytes {
            guard let bytes = ByteSize.parse(maxBytes) else { throw ValidationError("--max-bytes: cannot parse \(maxBytes)") }
            configuration.maxBytes = bytes
        }
        for upstream in upstreams { try configuration.setUpstream(upstream) }
        if let defaultUpstream { configuration.defaultUpstream = defaultUpstream }
        if let upstreamIdleTimeout { configuration.upstreamIdleTimeoutSeconds = upstreamIdleTimeout }
        if let eventLoops { configuration.eventLoops = eventLoops }
        if let tlsCertificate { configuration.tlsCertificate = tlsCertificate }
        if let tlsKey { configuration.tlsKey = tlsKey }
        if let advertise { configuration.fleet.advertise = advertise }
        if !peers.isEmpty { configuration.fleet.peers = peers }
        if redirectBlobs { configuration.fleet.redirectBlobs = true }
        if let interceptListen { configuration.intercept.listen = interceptListen }
        return try configuration.validated()
    }
}

extension LayoverConfiguration {
    /// Opens (and locks) the configured store, with an error that names its directory.
    func openStore() throws -> BlobStore {
        do {
            return try BlobStore(layout: StoreLayout(root: storage), budget: StoreBudget(maxBytes: maxBytes),
                                 synchronous: IndexSynchronous(rawValue: indexSynchronous) ?? .full)
        } catch {
            throw ValidationError("cannot open the store at \(storage): \(error)")
        }
    }
}
