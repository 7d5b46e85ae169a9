import Logging
import NIOCore
import NIOHTTP1

/// The handler of an intercept proxy connection's absolute-form requests, behind the proxy's NIO
/// codec (the front's connections have `HTTP1Connection`): one request at a time (NIO's
/// pipelining handler holds the next one back until this answer's end is written), read by a
/// `RequestIntake` as on the front.
final class RegistryChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Cleartext HTTP/1.1: stored files may go out with sendfile.
    private let sendfile: Bool
    private let intake: RequestIntake
    private var readPending = false
    /// What the intake calls when a body's reader caught up (made once, not per part).
    private lazy var onReadsResumed: (ChannelHandlerContext) -> Void = { [weak self] in self?.resumeReads(context: $0) }

    /// - Parameters:
    ///   - sendfile: stored files may be written as `FileRegion`s (cleartext only).
    ///   - deadline: the connection's deadlines.
    ///   - intercepted: the upstream of an intercepted connection; nil on the front.
    init(responder: RegistryResponder, connections: ConnectionTracker, accessLog: Logger?,
         sendfile: Bool, deadline: ConnectionDeadline, intercepted: InterceptOptions.Upstream? = nil) {
        let dispatcher = RequestDispatch(responder: responder, connections: connections, accessLog: accessLog, intercepted: intercepted)
        self.intake = RequestIntake(requests: dispatcher, deadline: deadline)
        self.sendfile = sendfile
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let request = intake.take(unwrapInboundIn(data), context: context, resumed: onReadsResumed) else { return }
        intake.answer(request, on: context.channel, transport: ResponseWriter.Transport(sendfile: sendfile, multiplexed: false))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let ends = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        if ends { intake.deadline.answerEnded() }
    }

    func read(context: ChannelHandlerContext) {
        if intake.readsPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    private func resumeReads(context: ChannelHandlerContext) {
        if readPending {
            readPending = false
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        intake.fail(ChannelError.eof)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        intake.fail(error)
        context.close(promise: nil)
    }
}
