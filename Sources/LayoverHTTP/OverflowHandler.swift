import LayoverWire
import NIOCore
import NIOHTTP1

/// Serves a connection accepted beyond `maxConnections`: `/healthz` is answered (a liveness probe
/// must not fail because clients hold every slot), anything else gets `503 TOOMANYREQUESTS` with
/// `Retry-After`, and the connection closes after one answer, or after `idleTimeout` without a
/// request, so that it never holds a descriptor for long.
final class OverflowHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let idleTimeout: TimeAmount
    private var idleClose: Scheduled<Void>?
    private var head: HTTPRequestHead?

    /// How long an overflow connection may wait for its request.
    static let idleTimeout = TimeAmount.seconds(2)

    init(idleTimeout: TimeAmount = OverflowHandler.idleTimeout) {
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        idleClose = context.eventLoop.scheduleTask(in: idleTimeout) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            idleClose?.cancel()
            answer(head, context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let status: HTTPResponseStatus
        let body: String
        var headers = HTTPHeaders()
        if path == "/healthz" {
            status = .ok
            body = "ok\n"
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        } else {
            let error = OCIError(status: 503, code: .tooManyRequests, message: "too many connections; retry shortly")
            status = .serviceUnavailable
            body = error.jsonBody
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Retry-After", value: "1")
            headers.add(name: "Docker-Distribution-API-Version", value: "registry/2.0")
        }
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleClose?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
