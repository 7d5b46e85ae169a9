import LayoverTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny in-process HTTP/1.1 server for test doubles (gateways in front of the real registry):
/// each request's head and body (collected, at most `maximumBody` bytes; a larger body closes
/// the connection) go to a handler that returns the whole answer.
enum HTTPStub {
    typealias Answer = (HTTPResponseStatus, [(String, String)], [UInt8])

    struct Incoming: Sendable {
        var head: HTTPRequestHead
        var body: [UInt8] = []
    }

    /// Status, headers and body; the connection stays open unless a `Connection: close` header is given.
    typealias Handler = @Sendable (Incoming, Int) async throws -> Answer

    /// Listens on 127.0.0.1 and a free port; the handler is told that port.
    static func serve(maximumBody: Int = .max, _ handler: @escaping Handler) async throws -> any Channel {
        let port = Shared(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Responder(handler: handler, port: port.withLock { $0 },
                                                                             maximumBody: maximumBody))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port.withLock { $0 = channel.localAddress!.port! }
        return channel
    }

    /// Passes a request on to the registry at `registry` (its body, and the headers an upload
    /// needs) and returns the registry's answer with upload `Location`s pointing back at `gate`,
    /// so that every step of a push meets the gate.
    static func forward(_ request: Incoming, to registry: String, as gate: String) async throws -> Answer {
        let head = request.head
        var forwarded: [(String, String)] = []
        for name in ["content-type", "accept", "content-range"] {
            for value in head.headers[name] { forwarded.append((name, value)) }
        }
        let answer = try await TestHTTP.shared.send(head.method, registry + head.uri, headers: forwarded,
                                                    body: head.method == .GET || head.method == .HEAD ? nil : request.body)
        var headers: [(String, String)] = []
        for name in ["content-type", "docker-content-digest", "range", "docker-upload-uuid", "content-length"] {
            if let value = answer.header(name) { headers.append((name, value)) }
        }
        if let location = answer.header("location") {
            headers.append(("Location", location.replacingOccurrences(of: registry, with: gate)))
        }
        return (HTTPResponseStatus(statusCode: answer.status), headers, head.method == .HEAD ? [] : answer.body)
    }

    private final class Responder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let handler: Handler
        let port: Int
        let maximumBody: Int
        var head: HTTPRequestHead?
        /// The body so far, appended to in place.
        var body: [UInt8] = []

        init(handler: @escaping Handler, port: Int, maximumBody: Int) {
            self.handler = handler
            self.port = port
            self.maximumBody = maximumBody
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(let buffer):
                guard head != nil else { return }
                body += buffer.readableBytesView
                if body.count > maximumBody {
                    head = nil
                    body = []
                    context.close(promise: nil)
                }
            case .end:
                guard let head else { return }
                let incoming = Incoming(head: head, body: body)
                self.head = nil
                body = []
                let channel = context.channel
                let handler = self.handler
                let port = self.port
                Task {
                    let (status, headers, body) = (try? await handler(incoming, port)) ?? (.badGateway, [], [])
                    var responseHead = HTTPResponseHead(version: .http1_1, status: status)
                    for (name, value) in headers { responseHead.headers.replaceOrAdd(name: name, value: value) }
                    if responseHead.headers["content-length"].isEmpty, responseHead.headers["transfer-encoding"].isEmpty {
                        responseHead.headers.add(name: "Content-Length", value: String(incoming.head.method == .HEAD ? 0 : body.count))
                    }
                    let close = responseHead.headers["connection"].contains { $0.lowercased() == "close" }
                    channel.write(HTTPServerResponsePart.head(responseHead), promise: nil)
                    if !body.isEmpty { channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
                    channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
                        if close { channel.close(promise: nil) }
                    }
                }
            }
        }
    }
}
