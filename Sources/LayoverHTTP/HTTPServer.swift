import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP/1.1 front: keep-alive, pipelining, one `RegistryChannelHandler` per connection.
public enum HTTPServer {
    /// Binds `host:port` (port 0 picks a free one) and serves until the returned channel is closed.
    public static func start(host: String, port: Int, responder: RegistryResponder,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> any Channel {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RegistryChannelHandler(responder: responder))
                }
            }
        return try await bootstrap.bind(host: host, port: port).get()
    }
}
