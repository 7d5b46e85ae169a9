import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A closed-loop HTTP/1.1 load generator: `connections` keep-alive connections, each sending the
/// next request as soon as the previous answer has fully arrived, for `duration`. Given several
/// paths, each connection goes through them in turn (from its own starting point); with `once`,
/// the connections together send each path once and stop (a warm-up pass).
/// Written on SwiftNIO so that HEAD answers are handled right and the generator is not the limit.
enum ClosedLoopLoad {
    struct Result {
        var requests: Int
        var errors: Int
        var seconds: Double
        var latenciesNanoseconds: [UInt64]

        var requestsPerSecond: Double { Double(requests) / seconds }
        func percentile(_ p: Double) -> Double {
            guard !latenciesNanoseconds.isEmpty else { return .nan }
            let sorted = latenciesNanoseconds.sorted()
            return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
        }
    }

    static func run(host: String, port: Int, method: HTTPMethod, path: String, connections: Int,
                    duration: Duration, group: any EventLoopGroup) async throws -> Result {
        try await run(host: host, port: port, method: method, paths: [path], connections: connections, duration: duration, group: group)
    }

    static func run(host: String, port: Int, method: HTTPMethod, paths: [String], connections: Int,
                    duration: Duration, once: Bool = false, group: any EventLoopGroup) async throws -> Result {
        let deadline = NIODeadline.now() + .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000
                                                         + duration.components.attoseconds / 1_000_000_000)
        let started = NIODeadline.now()
        var handlers: [Connection] = []
        var futures: [EventLoopFuture<Void>] = []
        for index in 0..<connections {
            let first = index * paths.count / connections
            let handler = Connection(method: method, paths: paths, first: first, host: host, deadline: deadline,
                                     limit: once ? (index + 1) * paths.count / connections - first : nil)
            let channel = try await ClientBootstrap(group: group)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: host, port: port).get()
            handlers.append(handler)
            futures.append(channel.closeFuture)
        }
        for handler in handlers { handler.start() }
        for future in futures { try? await future.get() }
        let seconds = Double((NIODeadline.now() - started).nanoseconds) / 1e9
        var result = Result(requests: 0, errors: 0, seconds: seconds, latenciesNanoseconds: [])
        for handler in handlers {
            let (latencies, errors) = handler.results()
            result.requests += latencies.count
            result.errors += errors
            result.latenciesNanoseconds += latencies
        }
        return result
    }

    /// One connection's loop; its state is touched only on its event loop.
    final class Connection: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart
        var head: HTTPRequestHead
        let paths: [String]
        var next: Int
        let deadline: NIODeadline
        /// Requests left to send, when limited.
        var remaining: Int?
        var context: ChannelHandlerContext?
        var sentAt: UInt64 = 0
        var latencies: [UInt64] = []
        var errors = 0

        init(method: HTTPMethod, paths: [String], first: Int, host: String, deadline: NIODeadline, limit: Int? = nil) {
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: host)
            headers.add(name: "Accept", value: "application/vnd.oci.image.manifest.v1+json")
            head = HTTPRequestHead(version: .http1_1, method: method, uri: paths[first], headers: headers)
            self.paths = paths
            next = first
            self.deadline = deadline
            remaining = limit
            latencies.reserveCapacity(200_000)
        }

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }

        func start() {
            guard let context else { return }
            context.eventLoop.execute { if self.remaining == 0 { context.close(promise: nil) } else { self.send() } }
        }

        func results() -> ([UInt64], Int) { (latencies, errors) }

        private func send() {
            guard let context else { return }
            remaining = remaining.map { $0 - 1 }
            if paths.count > 1 {
                head.uri = paths[next]
                next = (next + 1) % paths.count
            }
            sentAt = DispatchTime.now().uptimeNanoseconds
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let response):
                if response.status.code >= 400 { errors += 1 }
            case .body:
                break
            case .end:
                latencies.append(DispatchTime.now().uptimeNanoseconds - sentAt)
                if NIODeadline.now() < deadline, remaining != 0 { send() } else { context.close(promise: nil) }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            errors += 1
            context.close(promise: nil)
        }
    }
}
