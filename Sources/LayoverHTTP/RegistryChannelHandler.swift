import Logging
import NIOCore
import NIOHTTP1

/// The handler of an intercept proxy connection's absolute-form requests, behind the proxy's NIO
/// codec (the front's connections have `HTTP1Connection`): one request at a time (NIO's pipelining
/// handler holds the next one back until this answer's end is written). A request that may carry a body is handed
/// to the responder at its head, its body streamed with backpressure; others at their end.
final class RegistryChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let dispatcher: RequestDispatch
    /// Cleartext HTTP/1.1: stored files may go out with sendfile.
    private let sendfile: Bool
    /// The connection's idle and head deadlines.
    private let deadline: ConnectionDeadline
    private var head: HTTPRequestHead?
    private var bodySource: RequestBody.Producer.Source?
    /// The body's consumer is behind: hold reads until it asks for more.
    private var readsPaused = false
    private var readPending = false
    /// Runs the tasks of requests that stay on this connection's event loop; made on first use.
    private var loopExecutor: EventLoopTaskExecutor?

    /// - Parameters:
    ///   - sendfile: stored files may be written as `FileRegion`s (cleartext only).
    ///   - deadline: the connection's deadlines.
    ///   - intercepted: the upstream of an intercepted connection; nil on the front.
    init(responder: RegistryResponder, connections: ConnectionTracker, accessLog: Logger?,
         sendfile: Bool, deadline: ConnectionDeadline, intercepted: InterceptOptions.Upstream? = nil) {
        self.dispatcher = RequestDispatch(responder: responder, connections: connections, accessLog: accessLog, intercepted: intercepted)
        self.sendfile = sendfile
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let mayHaveBody = RequestDispatch.mayHaveBody(head)
            deadline.headReceived(body: mayHaveBody)
            if mayHaveBody {
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                let eventLoop = context.eventLoop
                let (source, body) = RequestDispatch.body(of: head, answeringOn: ChannelTarget(channel: context.channel)) {
                    eventLoop.execute {
                        let (handler, context) = loopBound.value
                        handler.resumeReads(context: context)
                    }
                }
                bodySource = source
                dispatch(dispatcher.request(head, body: body, remoteAddress: context.channel.remoteAddress), context: context, executor: nil)
            } else {
                self.head = head
            }
        case .body(let buffer):
            guard let bodySource else { return }
            if case .stopProducing = bodySource.yield(buffer) { readsPaused = true }
        case .end:
            if let bodySource {
                deadline.bodyEnded()
                bodySource.finish()
                self.bodySource = nil
            } else if let head {
                self.head = nil
                let request = dispatcher.request(head, body: .empty, remoteAddress: context.channel.remoteAddress)
                dispatch(request, context: context, executor: RequestDispatch.staysOnEventLoop(request) ? eventLoopExecutor(context) : nil)
            }
        }
    }

    private func eventLoopExecutor(_ context: ChannelHandlerContext) -> EventLoopTaskExecutor {
        if let loopExecutor { return loopExecutor }
        let made = EventLoopTaskExecutor(context.eventLoop)
        loopExecutor = made
        return made
    }

    private func dispatch(_ request: Request, context: ChannelHandlerContext, executor: EventLoopTaskExecutor?) {
        let answered = NIOLoopBound(deadline, eventLoop: context.eventLoop)
        dispatcher.dispatch(request, to: ChannelTarget(channel: context.channel), connection: context.channel,
                            transport: ResponseWriter.Transport(sendfile: sendfile, multiplexed: false),
                            executor: executor) { answered.value.answerEnded() }
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    private func resumeReads(context: ChannelHandlerContext) {
        readsPaused = false
        if readPending {
            readPending = false
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        bodySource?.finish(ChannelError.eof)
        bodySource = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        bodySource?.finish(error)
        bodySource = nil
        context.close(promise: nil)
    }
}
