import ArgumentParser
import AsyncHTTPClient
import Foundation
import LayoverAuth
import LayoverConfig
import LayoverFleet
import LayoverHTTP
import LayoverMetrics
import LayoverPull
import LayoverPush
import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle

/// `layover serve`: wires the store, the upstream clients, the pull service and the HTTP front.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the proxy (with no options: the embedded default configuration).")

    @OptionGroup var options: ConfigurationOptions

    @Flag(name: .customLong("print-config"), help: "Print the effective configuration and exit.")
    var printConfig = false

    func run() async throws {
        // A client vanishing mid-write must cost that connection only, never the process.
        signal(SIGPIPE, SIG_IGN)
        var configuration = try options.effectiveConfiguration()
        if printConfig {
            print(ConfigurationPrinter.yaml(configuration))
            return
        }
        Self.bootstrapLogging(format: configuration.logFormat)
        // Before anything uses NIO's shared event loops (the front, the upstream client).
        if let loops = configuration.eventLoops { NIOSingletons.groupLoopCountSuggestion = loops }
        let metrics = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: metrics)
        factory.defaultDurationHistogramBuckets = [.milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100),
                                                   .milliseconds(250), .seconds(1), .seconds(5), .seconds(30), .seconds(120)]
        MetricsSystem.bootstrap(factory)
        Telemetry.registerAll()
        let logger = Logger(label: "layover")
        let access = try Self.accessControl(configuration, logger: logger)
        let files = FileLimit.raise()
        logger.info("open-file limit", metadata: ["softBefore": "\(files.before)", "soft": "\(files.after)", "hard": "\(files.hard)"])
        if configuration.maxConnections == nil {
            configuration.maxConnections = FileLimit.defaultMaxConnections(descriptors: files.after)
        }
        let store = try configuration.openStore()
        let http = RegistryClient.makeHTTPClient(idleTimeout: .seconds(configuration.upstreamIdleTimeoutSeconds))
        do {
            try await serve(configuration, store: store, http: http, access: access, metrics: metrics, logger: logger)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try? await http.shutdown()
        logger.info("stopped")
    }

    /// Runs the front, the housekeeping and the replication worker until SIGTERM or SIGINT,
    /// then shuts them down in that order.
    private func serve(_ configuration: LayoverConfiguration, store: BlobStore, http: HTTPClient, access: AccessControl,
                       metrics: PrometheusCollectorRegistry, logger: Logger) async throws {
        let clients = configuration.upstreams.values.map { RegistryClient(upstream: $0, http: http) }
        let upstreams = UpstreamDirectory(clients: clients, defaultUpstream: configuration.defaultUpstream)
        let fleet = try Self.fleet(configuration, logger: logger)
        let pull = PullService(store: store, upstreams: upstreams, peers: fleet)
        let queue = ReplicationQueue(store: store, upstreams: upstreams)
        let push = PushService(store: store, upstreams: upstreams, queue: queue,
                               modes: configuration.pushModes.compactMapValues(PushMode.init(rawValue:)),
                               uploadTimeout: configuration.uploadTimeoutSeconds, maximumUploads: configuration.maxUploadSessions,
                               maximumUploadsPerClient: configuration.maxUploadSessionsPerClient,
                               maximumUploadBytes: configuration.limits.maxUploadBytes)
        // Jobs a restart left are scheduled before the front accepts a push that could supersede them;
        // they start running only once the front serves (a job that crashes cannot stop it starting).
        await queue.load()
        let responder = RegistryResponder(pull: pull, push: push, deletionAllowed: configuration.deletionAllowed,
                                          access: access, metricsExporter: { metrics.emitToBuffer() }, fleet: fleet)
        let tls = try Self.tlsMaterial(configuration)
        let server = try await HTTPServer.start(host: configuration.listenHost, port: configuration.listenPort,
                                                responder: responder, options: Self.frontOptions(configuration, tls: tls))
        let address = server.localAddress.map { "\($0.ipAddress ?? configuration.listenHost):\($0.port ?? 0)" } ?? "?"
        FileHandle.standardOutput.write(Data("layover listening on \(tls == nil ? "http" : "https")://\(address)\n".utf8))
        var intercept: HTTPServer?
        if let options = try Self.interceptOptions(configuration, logger: logger), let listen = configuration.intercept.listen,
           let (host, port) = HostPort.parse(listen) {
            let proxy = try await HTTPServer.startIntercept(host: host, port: port, responder: responder,
                                                            options: Self.frontOptions(configuration, tls: nil), intercept: options)
            let proxyAddress = proxy.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? 0)" } ?? "?"
            FileHandle.standardOutput.write(Data("layover intercepting on http://\(proxyAddress) (HTTPS_PROXY)\n".utf8))
            logger.info("intercepting", metadata: ["address": "\(proxyAddress)", "hosts": "\(options.upstreams.map { "\($0.host):\($0.port)" })",
                                                   "tunnel": "\(options.tunnel)"])
            intercept = proxy
        }
        logger.info("serving", metadata: ["address": "\(address)", "storage": "\(configuration.storage)",
                                          "maxBytes": "\(configuration.maxBytes)"])
        // Graceful shutdown runs in reverse order: the front drains first, then the last flush,
        // then the replication worker stops.
        var services: [any Service] = [
            ReplicationService(queue: queue), HousekeepingService(store: store, push: push),
            FrontService(server: server, grace: .seconds(configuration.shutdownGraceSeconds)),
            ReloadService(reloads: Self.reloads(tls: tls, access: access, htpasswd: configuration.auth?.htpasswd), logger: logger),
        ]
        if let fleet, let dns = configuration.fleet.peersFromDNS.flatMap(DNSMembers.init) {
            services.append(FleetDNSService(fleet: fleet, dns: dns, logger: logger))
        }
        if let fleet, fleet.redirectsBlobs { services.append(FleetProbeService(fleet: fleet)) }
        if let intercept { services.append(FrontService(server: intercept, grace: .seconds(configuration.shutdownGraceSeconds))) }
        if store.filesUnchecked { services.append(CrashCheckService(store: store)) }
        if configuration.scrubBytesPerSecond > 0 {
            services.append(ScrubService(scrubber: StoreScrubber(store: store, bytesPerSecond: configuration.scrubBytesPerSecond)))
        }
        let group = ServiceGroup(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        try await group.run()
        logger.info("shutting down", metadata: ["busyConnections": "\(server.busyConnections)"])
        // Everything that wrote to the store has stopped: the next start may trust its index.
        await store.closeCleanly()
        await fleet?.shutdown()
    }

    /// Client authentication and rights from the `auth` section (the htpasswd file read now: an
    /// unreadable or invalid one stops the start), and a line saying what anonymous clients may do.
    private static func accessControl(_ configuration: LayoverConfiguration, logger: Logger) throws -> AccessControl {
        let access: AccessControl
        do {
            access = try AccessControl(auth: configuration.auth, listenHost: configuration.listenHost)
        } catch {
            throw ValidationError("\(error)")
        }
        let anonymous = access.policy.anonymous.sorted().map(\.rawValue).joined(separator: ",")
        if let auth = configuration.auth {
            logger.info("client authentication on", metadata: [
                "htpasswd": "\(auth.htpasswd ?? "-")", "tokens": "\(auth.tokens.count)", "anonymous": "\(anonymous)"])
        } else if !access.policy.anonymous.contains(.push) {
            logger.notice("no auth section and a non-loopback listen address: anonymous clients may pull, pushes are refused")
        }
        return access
    }

    /// The certificate and key when TLS is configured; a file that cannot be used stops the start.
    private static func tlsMaterial(_ configuration: LayoverConfiguration) throws -> TLSMaterial? {
        guard let certificate = configuration.tlsCertificate, let key = configuration.tlsKey else { return nil }
        return try TLSMaterial(certificatePath: certificate, keyPath: key)
    }

    /// What SIGHUP reloads.
    private static func reloads(tls: TLSMaterial?, access: AccessControl,
                                htpasswd: String?) -> [(name: String, reload: @Sendable () throws -> Void)] {
        var reloads: [(name: String, reload: @Sendable () throws -> Void)] = []
        if let tls { reloads.append(("tls certificate", { @Sendable in try tls.reload() })) }
        if let htpasswd {
            reloads.append(("htpasswd \(htpasswd)", { @Sendable in
                guard access.reload() else { throw ReloadError("the file could not be used (see the error above)") }
            }))
        }
        return reloads
    }

    /// The front's TLS, protocol limits and access log, from the configuration.
    private static func frontOptions(_ configuration: LayoverConfiguration, tls: TLSMaterial?) -> FrontOptions {
        var options = FrontOptions()
        options.tls = tls
        options.accessLog = configuration.accessLog ? Logger(label: "layover.access") : nil
        options.maxConnections = configuration.maxConnections ?? .max
        options.headerTimeout = .nanoseconds(Int64(configuration.limits.headerTimeoutSeconds * 1e9))
        options.idleTimeout = .nanoseconds(Int64(configuration.limits.idleTimeoutSeconds * 1e9))
        options.maxHeaderBytes = configuration.limits.maxHeaderBytes
        options.maxConcurrentStreams = configuration.limits.maxConcurrentStreams
        return options
    }

    /// Text lines (swift-log's stream handler) or JSON lines, each carrying the request id.
    private static func bootstrapLogging(format: String) {
        let level = Logger.Level(rawValue: ProcessInfo.processInfo.environment["LAYOVER_LOG_LEVEL"] ?? "info") ?? .info
        LoggingSystem.bootstrap({ label, provider in
            if format == "json" { return JSONLogHandler(label: label, level: level, metadataProvider: provider) }
            var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
            handler.logLevel = level
            return handler
        }, metadataProvider: RequestContext.metadataProvider)
    }
}
