import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A closed-loop HTTP/1.1 load generator: `connections` keep-alive connections, each sending the
/// next request as soon as the previous answer has fully arrived, for `duration`. Given several
/// paths, each connection goes through them in turn (from its own starting point); with `once`,
/// the connections together send each path once and stop (a warm-up pass).
/// Written on SwiftNIO so that HEAD answers are handled right (h2load and wrk wait for a body
/// after a HEAD answer's Content-Length). With `.raw` framing (`RawConnection`) a request is
/// bytes made once and an answer is framed by its Content-Length alone, so that the generator,
/// which shares the machine's cores with the server measured, spends little CPU per request;
/// `.codec` uses NIO's HTTP/1.1 client codec.
enum ClosedLoopLoad {
    /// How requests are written and answers read.
    enum Framing: String, CaseIterable, Sendable {
        /// Prepared request bytes; answers framed by status and Content-Length (`RawConnection`).
        case raw
        /// NIO's HTTP/1.1 client codec (`CodecConnection`).
        case codec
    }

    /// The Accept header of every request (a manifest by digest is answered whatever it says).
    static let accept = "application/vnd.oci.image.manifest.v1+json"

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
                    duration: Duration, framing: Framing = .codec, group: any EventLoopGroup) async throws -> Result {
        try await run(host: host, port: port, method: method, paths: [path], connections: connections, duration: duration,
                      framing: framing, group: group)
    }

    static func run(host: String, port: Int, method: HTTPMethod, paths: [String], connections: Int,
                    duration: Duration, once: Bool = false, framing: Framing = .codec, group: any EventLoopGroup) async throws -> Result {
        let deadline = NIODeadline.now() + .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000
                                                         + duration.components.attoseconds / 1_000_000_000)
        let started = NIODeadline.now()
        var handlers: [any LoadConnection] = []
        var futures: [EventLoopFuture<Void>] = []
        for index in 0..<connections {
            let first = index * paths.count / connections
            let book = LoopBook(paths: paths, first: first, deadline: deadline,
                                limit: once ? (index + 1) * paths.count / connections - first : nil)
            let channel: any Channel
            switch framing {
            case .raw:
                let handler = RawConnection(method: method, host: host, book: book)
                channel = try await connect(host: host, port: port, group: group) { try $0.addHandler(handler) }
                handlers.append(handler)
            case .codec:
                let handler = CodecConnection(method: method, host: host, book: book)
                channel = try await connect(host: host, port: port, group: group) {
                    try $0.addHTTPClientHandlers()
                    try $0.addHandler(handler)
                }
                handlers.append(handler)
            }
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

    private static func connect(host: String, port: Int, group: any EventLoopGroup,
                                handlers: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void) async throws -> any Channel {
        try await ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try handlers(channel.pipeline.syncOperations) }
            }
            .connect(host: host, port: port).get()
    }

    /// One connection's loop through NIO's HTTP/1.1 client codec; its state is touched only on
    /// its event loop.
    final class CodecConnection: ChannelInboundHandler, LoadConnection, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart
        var head: HTTPRequestHead
        var book: LoopBook
        var context: ChannelHandlerContext?

        init(method: HTTPMethod, host: String, book: LoopBook) {
            var headers = HTTPHeaders()
            headers.add(name: "Host", value: host)
            headers.add(name: "Accept", value: ClosedLoopLoad.accept)
            head = HTTPRequestHead(version: .http1_1, method: method, uri: book.paths[book.next], headers: headers)
            self.book = book
        }

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }

        func send() {
            guard let context else { return }
            head.uri = book.paths[book.begin()]
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let response):
                if response.status.code >= 400 { book.errors += 1 }
            case .body:
                break
            case .end:
                if book.finish() { send() } else { context.close(promise: nil) }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            book.errors += 1
            context.close(promise: nil)
        }
    }
}
