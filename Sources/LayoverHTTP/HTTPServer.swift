import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP front: HTTP/1.1 (keep-alive, pipelining) and HTTP/2, in cleartext or TLS (see
/// `ConnectionPipeline`); one `HTTP1Connection` per HTTP/1.1 connection, one `HTTP2Connection` per HTTP/2 one.
public final class HTTPServer: Sendable {
    private let listener: any Channel
    private let connections: ConnectionTracker

    /// The address actually bound (port 0 resolved).
    public var localAddress: SocketAddress? { listener.localAddress }

    /// Completes when the listening socket is closed.
    public var closeFuture: EventLoopFuture<Void> { listener.closeFuture }

    private init(listener: any Channel, connections: ConnectionTracker) {
        self.listener = listener
        self.connections = connections
    }

    /// Binds `host:port` (port 0 picks a free one) and serves until `shutdown` or the listener closes.
    /// Accepting pauses while the connections open reach the tracker's limit (see `AcceptGate`),
    /// and, when it fails (no descriptor left), for a moment instead of spinning.
    public static func start(host: String, port: Int, responder: RegistryResponder, options: FrontOptions = FrontOptions(),
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> HTTPServer {
        let connections = ConnectionTracker(maximum: options.maxConnections)
        let pipeline = ConnectionPipeline(responder: responder, connections: connections, options: options)
        return try await start(host: host, port: port, connections: connections, group: group) { pipeline.configure($0) }
    }

    /// Binds intercept mode's forward-proxy listener (`HTTPS_PROXY`): `CONNECT` and absolute-form
    /// requests, the configured upstreams served from the cache (see `ProxyRequestHandler`).
    /// `options.tls` is not used: intercepted hosts get leaves from `intercept.leaves`.
    public static func startIntercept(host: String, port: Int, responder: RegistryResponder, options: FrontOptions,
                                      intercept: InterceptOptions,
                                      group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> HTTPServer {
        let connections = ConnectionTracker(maximum: options.maxConnections)
        var plain = options
        plain.tls = nil
        let pipeline = ConnectionPipeline(responder: responder, connections: connections, options: plain)
        return try await start(host: host, port: port, connections: connections, group: group) {
            pipeline.configureProxy($0, intercept: intercept)
        }
    }

    private static func start(host: String, port: Int, connections: ConnectionTracker, group: any EventLoopGroup,
                              configure: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>) async throws -> HTTPServer {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The gate nearer the socket: the reads the backoff handler resumes pass it too.
                    try channel.pipeline.syncOperations.addHandler(AcceptGate(connections: connections))
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptBackoffHandler(shouldForwardIOErrorCaught: false, backoffProvider: Self.acceptBackoff))
                }
            }
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelInitializer(configure)
        return HTTPServer(listener: try await bootstrap.bind(host: host, port: port).get(), connections: connections)
    }

    /// Out of descriptors or memory: accepting pauses for a moment (connections wait in the
    /// backlog) instead of failing in a loop.
    @Sendable static func acceptBackoff(_ error: IOError) -> TimeAmount? {
        [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) ? .milliseconds(100) : nil
    }

    /// Stops accepting, lets answers in progress finish for up to `grace`, closes idle
    /// connections at once and busy ones as their answer ends; past `grace`, closes the rest.
    public func shutdown(grace: Duration) async {
        try? await listener.close()
        connections.beginDraining()
        let deadline = ContinuousClock.now + grace
        while connections.busyCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        connections.closeAll()
    }

    /// Answers in progress right now.
    public var busyConnections: Int { connections.busyCount }
}
