import NIOCore

/// Holds an HTTP/2 connection's flushes until its event loop has run the work it has queued.
/// Requests that arrive together on several streams are answered by tasks queued on that loop,
/// and each answer flushes its stream: without this, each would also become its own TLS write and
/// syscall; with it, they leave together. Sits between the TLS handler (or the socket) and NIO's
/// HTTP/2 handler. A close flushes first, so that a `GOAWAY` written just before it goes out.
final class FlushCoalescingHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var flushPending = false

    func flush(context: ChannelHandlerContext) {
        guard !flushPending else { return }
        flushPending = true
        context.eventLoop.assumeIsolated().execute {
            self.flushIfPending(context: context)
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        flushIfPending(context: context)
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        flushIfPending(context: context)
    }

    private func flushIfPending(context: ChannelHandlerContext) {
        guard flushPending else { return }
        flushPending = false
        context.flush()
    }
}
