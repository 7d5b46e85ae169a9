import Foundation
import LayoverTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix

/// A front for the real registry that passes every request through (bodies included) except the
/// ones a rule refuses: those get the rule's status, with an OCI error body or none. Upload
/// `Location`s are rewritten to point back at the gate, so that every step of a push meets it.
final class PushGate: Sendable {
    /// What to answer instead of passing a request through.
    struct Refusal: Sendable {
        var status: Int
        /// Whether the answer carries an OCI error body (else it has none).
        var body = true
        var headers: [(String, String)] = []
    }

    typealias Rule = @Sendable (_ method: HTTPMethod, _ uri: String) -> Refusal?

    let port: Int
    private let channel: any Channel
    private let refused: Shared<[String]>

    var url: String { "http://127.0.0.1:\(port)" }
    /// `METHOD uri` of every request refused so far.
    var refusals: [String] { refused.withLock { $0 } }

    init(registry: String, rule: @escaping Rule) async throws {
        let refused = Shared<[String]>([])
        self.refused = refused
        let port = Shared(0)
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler { head, body in
                        let gate = "http://127.0.0.1:\(port.withLock { $0 })"
                        if let refusal = rule(head.method, head.uri) {
                            refused.withLock { $0.append("\(head.method) \(head.uri)") }
                            let text = refusal.body
                                ? Array("{\"errors\":[{\"code\":\"DENIED\",\"message\":\"refused by the test gate (\(refusal.status))\"}]}".utf8) : []
                            var headers = refusal.headers
                            if refusal.body { headers.append(("Content-Type", "application/json")) }
                            return (HTTPResponseStatus(statusCode: refusal.status), headers, text)
                        }
                        var forwarded: [(String, String)] = []
                        for name in ["content-type", "accept", "content-range"] {
                            for value in head.headers[name] { forwarded.append((name, value)) }
                        }
                        let answer = try await TestHTTP.shared.send(head.method, registry + head.uri, headers: forwarded,
                                                                    body: head.method == .GET || head.method == .HEAD ? nil : body)
                        var headers: [(String, String)] = []
                        for name in ["content-type", "docker-content-digest", "range", "docker-upload-uuid", "content-length"] {
                            if let value = answer.header(name) { headers.append((name, value)) }
                        }
                        if let location = answer.header("location") {
                            headers.append(("Location", location.replacingOccurrences(of: registry, with: gate)))
                        }
                        return (HTTPResponseStatus(statusCode: answer.status), headers, head.method == .HEAD ? [] : answer.body)
                    })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        self.port = channel.localAddress!.port!
        port.withLock { $0 = self.port }
    }

    func close() { channel.close(promise: nil) }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        typealias Respond = @Sendable (HTTPRequestHead, [UInt8]) async throws -> (HTTPResponseStatus, [(String, String)], [UInt8])
        let respond: Respond
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(_ respond: @escaping Respond) { self.respond = respond }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(let buffer):
                body += buffer.readableBytesView
            case .end:
                guard let head else { return }
                let channel = context.channel
                let body = self.body
                let respond = self.respond
                Task {
                    let (status, headers, bytes) = (try? await respond(head, body)) ?? (.badGateway, [], [])
                    var responseHead = HTTPResponseHead(version: .http1_1, status: status)
                    for (name, value) in headers { responseHead.headers.replaceOrAdd(name: name, value: value) }
                    if head.method != .HEAD || responseHead.headers["content-length"].isEmpty {
                        responseHead.headers.replaceOrAdd(name: "Content-Length", value: String(bytes.count))
                    }
                    channel.write(HTTPServerResponsePart.head(responseHead), promise: nil)
                    if !bytes.isEmpty { channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: bytes))), promise: nil) }
                    channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
                }
            }
        }
    }
}
