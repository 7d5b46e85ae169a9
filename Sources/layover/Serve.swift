import ArgumentParser
import AsyncHTTPClient
import Foundation
import LayoverConfig
import LayoverHTTP
import LayoverPull
import LayoverPush
import LayoverStore
import LayoverUpstream
import Logging
import NIOCore

/// `layover serve`: wires the store, the upstream clients, the pull service and the HTTP front.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the proxy (with no options: the embedded default configuration).")

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

    @Flag(name: .customLong("print-config"), help: "Print the effective configuration and exit.")
    var printConfig = false

    func run() async throws {
        // A client vanishing mid-write must cost that connection only, never the process.
        signal(SIGPIPE, SIG_IGN)
        let configuration = try effectiveConfiguration()
        if printConfig {
            print(ConfigurationPrinter.yaml(configuration))
            return
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: ProcessInfo.processInfo.environment["LAYOVER_LOG_LEVEL"] ?? "info") ?? .info
            return handler
        }
        let logger = Logger(label: "layover")
        let store = try BlobStore(layout: StoreLayout(root: configuration.storage),
                                  budget: StoreBudget(maxBytes: configuration.maxBytes))
        let http = RegistryClient.makeHTTPClient()
        do {
            try await serve(configuration, store: store, http: http, logger: logger)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try? await http.shutdown()
        logger.info("stopped")
    }

    /// Runs the front until SIGTERM or SIGINT, then flushes recency.
    private func serve(_ configuration: LayoverConfiguration, store: BlobStore, http: HTTPClient, logger: Logger) async throws {
        let clients = configuration.upstreams.values.map { RegistryClient(upstream: $0, http: http) }
        let upstreams = UpstreamDirectory(clients: clients, defaultUpstream: configuration.defaultUpstream)
        let pull = PullService(store: store, upstreams: upstreams)
        let queue = ReplicationQueue(store: store, upstreams: upstreams)
        let push = PushService(store: store, upstreams: upstreams, queue: queue,
                               modes: configuration.pushModes.compactMapValues(PushMode.init(rawValue:)),
                               uploadTimeout: configuration.uploadTimeoutSeconds)
        let server = try await HTTPServer.start(host: configuration.listenHost, port: configuration.listenPort,
                                                responder: RegistryResponder(pull: pull, push: push,
                                                                             deletionAllowed: configuration.deletionAllowed))
        let address = server.localAddress.map { "\($0.ipAddress ?? configuration.listenHost):\($0.port ?? 0)" } ?? "?"
        FileHandle.standardOutput.write(Data("layover listening on http://\(address)\n".utf8))
        logger.info("serving", metadata: ["address": "\(address)", "storage": "\(configuration.storage)",
                                          "maxBytes": "\(configuration.maxBytes)"])
        let stopSignals = SignalWatcher(signals: [SIGTERM, SIGINT]) { server.close(promise: nil) }
        let flusher = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                await store.flushRecency()
                push.sweepUploads()
            }
        }
        let replication = Task { await queue.run() }
        try? await server.closeFuture.get()
        stopSignals.cancel()
        flusher.cancel()
        replication.cancel()
        await store.flushRecency()
    }

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
        return try configuration.validated()
    }
}
