import LayoverWire
import NIOCore
import NIOHTTP1

/// Answers a request the HTTP/1.1 parser refused, then lets the connection close: `431` with an
/// OCI error when its head is over `maxHeaderBytes`, `400` for any other malformed input. Only
/// when no request is being answered on the connection: a request whose head was parsed gets its
/// answer from its own handler (a body that breaks off midway must not draw a second response).
/// The parser's error closes the connection right after.
final class ProtocolErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let maxHeaderBytes: Int
    private var answering = false
    /// A request head was passed on and its answer's end not yet written.
    private var requestOpen = false

    init(maxHeaderBytes: Int) {
        self.maxHeaderBytes = maxHeaderBytes
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError, !answering, !requestOpen {
            let refusal = Self.refusal(for: error, maxHeaderBytes: maxHeaderBytes)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(refusal.jsonBody.utf8.count))
            headers.add(name: "Docker-Distribution-API-Version", value: "registry/2.0")
            headers.add(name: "Connection", value: "close")
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: refusal.status), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: refusal.jsonBody)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    static func refusal(for error: HTTPParserError, maxHeaderBytes: Int) -> OCIError {
        switch error {
        case .headerOverflow:
            OCIError(status: 431, code: .unsupported, message: "request head over \(maxHeaderBytes) bytes")
        default:
            OCIError(status: 400, code: .unsupported, message: "malformed HTTP request: \(error)")
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { requestOpen = true }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: answering = true
        case .end:
            answering = false
            requestOpen = false
        case .head, .body: break
        }
        context.write(data, promise: promise)
    }
}
