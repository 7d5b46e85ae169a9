import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP/1.1 front: keep-alive, pipelining, one `RegistryChannelHandler` per connection.
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
    /// - Parameter accessLog: a logger for one line per answered request; nil for none.
    public static func start(host: String, port: Int, responder: RegistryResponder, accessLog: Logger? = nil,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> HTTPServer {
        let connections = ConnectionTracker()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                connections.opened(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        RegistryChannelHandler(responder: responder, connections: connections, accessLog: accessLog))
                }
            }
        return HTTPServer(listener: try await bootstrap.bind(host: host, port: port).get(), connections: connections)
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
