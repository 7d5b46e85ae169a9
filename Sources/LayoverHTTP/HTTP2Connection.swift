import NIOCore
import NIOHTTP1
import NIOHTTP2

/// Serves an HTTP/2 connection's streams without a channel per stream: after NIO's HTTP/2
/// handler (which keeps the protocol's state, checks content lengths, and holds what a stream's
/// send window does not allow), each stream is an `HTTP2Exchange` in a table; request header
/// blocks are checked by `HTTP2Request`.
///
/// Receive windows are ours to grant: the connection's back to `connectionWindow` as it is
/// spent, a stream's back to its target while its body's reader keeps up.
final class HTTP2Connection: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let dispatcher: RequestDispatch
    private let goAways: GoAwayWatch
    private let streamWindow: Int
    private var connectionWindow: InboundWindow
    private var exchanges: [HTTP2StreamID: HTTP2Exchange] = [:]
    private var context: ChannelHandlerContext?
    /// Runs the tasks of requests that stay on the connection's event loop.
    private var loopExecutor: EventLoopTaskExecutor?
    private var remoteAddress: SocketAddress?
    private(set) var eventLoop: any EventLoop
    private(set) var allocator = ByteBufferAllocator()

    /// - Parameters:
    ///   - streamWindow: each stream's receive window (the `SETTINGS_INITIAL_WINDOW_SIZE` sent).
    ///   - connectionWindow: the connection's receive window, across streams.
    ///   - goAways: the frame delegate of the connection's NIO HTTP/2 handler.
    init(dispatcher: RequestDispatch, eventLoop: any EventLoop, streamWindow: Int, connectionWindow: Int, goAways: GoAwayWatch) {
        self.dispatcher = dispatcher
        self.goAways = goAways
        self.eventLoop = eventLoop
        self.streamWindow = streamWindow
        self.connectionWindow = InboundWindow(target: connectionWindow)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        eventLoop = context.eventLoop
        allocator = context.channel.allocator
        remoteAddress = context.channel.remoteAddress
        loopExecutor = EventLoopTaskExecutor(context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeAll()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if let exchange = exchanges[frame.streamID] {
            exchange.receive(frame.payload)
        } else if case .headers = frame.payload, frame.streamID != .rootStream {
            let exchange = HTTP2Exchange(streamID: frame.streamID, connection: self, window: streamWindow)
            exchanges[frame.streamID] = exchange
            exchange.receive(frame.payload)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let closed as StreamClosedEvent:
            exchanges.removeValue(forKey: closed.streamID)?.closed()
        case let window as NIOHTTP2WindowUpdatedEvent:
            guard let size = window.inboundWindowSize else { break }
            if window.streamID == .rootStream {
                if let increment = connectionWindow.sized(size) {
                    emit(.rootStream, .windowUpdate(windowSizeIncrement: increment), promise: nil)
                    flush()
                }
            } else {
                exchanges[window.streamID]?.windowSized(size)
            }
        case let change as NIOHTTP2BulkStreamWindowChangeEvent:
            for exchange in exchanges.values { exchange.windowShifted(by: change.delta) }
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// A stream's error costs that stream only: one of ours (a frame written for a stream that
    /// ended meanwhile) resets it; one of the client's (a body longer than its length, a frame on
    /// a closed stream), which NIO's handler reports after resetting the stream itself, is dropped
    /// here. A connection error, which NIO's handler reports after writing a `GOAWAY` with an
    /// error, and any error not from HTTP/2, go on to close the connection (`ConnectionErrorCloser`).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            exchanges[streamError.streamID]?.reset(.internalError)
            return
        }
        if error is any NIOHTTP2Error, !goAways.sentWithError { return }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeAll()
        context.fireChannelInactive()
    }

    private func closeAll() {
        let open = exchanges.values
        exchanges.removeAll()
        for exchange in open { exchange.closed() }
    }

    /// Answers a stream's request.
    func dispatch(_ head: HTTPRequestHead, body: RequestBody, from exchange: HTTP2Exchange) {
        guard let context else { return }
        let request = dispatcher.request(head, body: body, remoteAddress: remoteAddress)
        dispatcher.dispatch(request, to: exchange.target, connection: context.channel,
                            transport: ResponseWriter.Transport(sendfile: false, multiplexed: true),
                            loopExecutor: loopExecutor)
    }

    /// Writes a frame of stream `streamID` (not flushed).
    func emit(_ streamID: HTTP2StreamID, _ payload: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>?) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: payload)), promise: promise)
    }

    func flush() {
        context?.flush()
    }
}

/// Tells a connection error from a stream error: NIO's HTTP/2 handler writes a `GOAWAY` with an
/// error code before it reports a connection error, a `RST_STREAM` before a stream error.
final class GoAwayWatch: NIOHTTP2FrameDelegate {
    /// A `GOAWAY` with an error code other than `NO_ERROR` was written.
    private(set) var sentWithError = false

    func wroteFrame(_ frame: HTTP2Frame) {
        if case .goAway(_, let code, _) = frame.payload, code != .noError { sentWithError = true }
    }
}
