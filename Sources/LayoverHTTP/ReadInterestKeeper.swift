import NIOCore
import NIOHTTP1

/// Keeps an HTTP/1.1 connection's read interest registered while its request is answered.
///
/// NIO's pipelining handler holds `read()` from a request's end until its answer's end, so the
/// socket's read interest left epoll and came back on every request: two `epoll_ctl` calls per
/// request, about 5 % of a small request's CPU. A client that waits for each answer, as nearly
/// all do, sends nothing meanwhile, so keeping the interest costs nothing.
///
/// Between the decoder and the pipelining handler, this handler asks for the next read itself
/// when every request received is complete and at most one answer is outstanding. A pipelined
/// request is then read and held by the pipelining handler as before (one read's worth at most),
/// after which reads wait for answers again. Never during a request body: a body's backpressure
/// stays with the handler that consumes it.
final class ReadInterestKeeper: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Requests whose end has been read, less answers whose end has been written.
    private var outstanding = 0
    /// A request's head has been read and its end not yet.
    private var inRequest = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: inRequest = true
        case .body: break
        case .end:
            inRequest = false
            outstanding += 1
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
        if !inRequest, outstanding <= 1 { context.read() }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // An answer to a request never read (a parser error's 400) is not counted against one.
        if case .end = unwrapOutboundIn(data) { outstanding = max(0, outstanding - 1) }
        context.write(data, promise: promise)
    }
}
