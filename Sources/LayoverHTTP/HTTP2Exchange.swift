import NIOCore
import NIOHTTP1
import NIOHTTP2

/// One HTTP/2 stream's request and answer, kept by its `HTTP2Connection` on the connection's
/// event loop (no channel of its own per stream).
///
/// The request is read from the stream's frames and handed to `RequestDispatch`: at its head
/// when it may carry a body, else at its end. A body streams with flow control: the stream's
/// window is granted back only while the body's reader keeps up, so a stream whose upload is not
/// being read holds at most its window. The answer's parts go out as frames (`AnswerFraming`).
final class HTTP2Exchange {
    let streamID: HTTP2StreamID
    /// Strong: an answer may still be written (and fail) after the connection is gone; the
    /// connection forgets its exchanges when they close, and all of them when it is removed.
    private let connection: HTTP2Connection
    private var framing = AnswerFraming()
    private var window: InboundWindow
    /// A request without a body, waiting for the end of its stream.
    private var pendingHead: HTTPRequestHead?
    private var headReceived = false
    private var bodySource: RequestBody.Producer.Source?
    /// Ended both ways or reset: nothing more is written.
    private(set) var isClosed = false

    init(streamID: HTTP2StreamID, connection: HTTP2Connection, window: Int) {
        self.streamID = streamID
        self.connection = connection
        self.window = InboundWindow(target: window)
    }

    // MARK: The request

    func receive(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .headers(let frame):
            guard headReceived else {
                headReceived = true
                return started(frame)
            }
            // Trailers: they end the request.
            requestEnded()
        case .data(let frame):
            if let bodySource, case .byteBuffer(let buffer) = frame.data, buffer.readableBytes > 0,
               case .stopProducing = bodySource.yield(buffer) {
                window.held = true
            }
            if frame.endStream { requestEnded() }
        default:
            break
        }
    }

    private func started(_ frame: HTTP2Frame.FramePayload.Headers) {
        let head: HTTPRequestHead
        do {
            head = try HTTP2Request.head(frame.headers, endStream: frame.endStream)
        } catch {
            return reset(.protocolError)
        }
        guard RequestDispatch.mayHaveBody(head) else {
            pendingHead = head
            if frame.endStream { requestEnded() }
            return
        }
        let eventLoop = connection.eventLoop
        let exchange = NIOLoopBound(self, eventLoop: eventLoop)
        let (source, body) = RequestDispatch.body(of: head, answeringOn: target) {
            eventLoop.execute { exchange.value.readerCaughtUp() }
        }
        bodySource = source
        connection.dispatch(head, body: body, from: self)
        if frame.endStream { requestEnded() }
    }

    private func requestEnded() {
        if let bodySource {
            bodySource.finish()
            self.bodySource = nil
        } else if let head = pendingHead {
            pendingHead = nil
            connection.dispatch(head, body: .empty, from: self)
        }
    }

    /// The body's reader asks for more: the window is granted again.
    private func readerCaughtUp() {
        window.held = false
        if bodySource != nil, let increment = window.grant() { grant(increment) }
    }

    /// NIO reports the stream's receive window at `size`.
    func windowSized(_ size: Int) {
        if bodySource != nil, let increment = window.sized(size) { grant(increment) }
    }

    /// The initial window of every stream changed by `delta`.
    func windowShifted(by delta: Int) {
        if bodySource != nil, let increment = window.shifted(by: delta) { grant(increment) }
    }

    private func grant(_ increment: Int) {
        connection.emit(streamID, .windowUpdate(windowSizeIncrement: increment), promise: nil)
        connection.flush()
    }

    // MARK: The answer

    /// This exchange as the target of its answer: callable from any thread.
    var target: Target { Target(exchange: NIOLoopBound(self, eventLoop: connection.eventLoop), allocator: connection.allocator) }

    func write(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?) {
        guard !isClosed else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let (first, second) = framing.write(part, promise: promise)
        if let first { connection.emit(streamID, first.payload, promise: first.promise) }
        if let second { connection.emit(streamID, second.payload, promise: second.promise) }
    }

    func flush() {
        if !isClosed, let held = framing.release() { connection.emit(streamID, held.payload, promise: held.promise) }
        connection.flush()
    }

    /// Resets the stream (the answer cannot be completed, or the request was malformed).
    func reset(_ code: HTTP2ErrorCode = .cancel) {
        guard !isClosed else { return }
        closed()
        connection.emit(streamID, .rstStream(code), promise: nil)
        connection.flush()
    }

    /// The stream is closed: a body still arriving ends with an error, what is held is dropped.
    func closed() {
        guard !isClosed else { return }
        isClosed = true
        framing.release()?.promise?.fail(ChannelError.ioOnClosedChannel)
        bodySource?.finish(ChannelError.eof)
        bodySource = nil
        pendingHead = nil
    }

    /// An exchange as a `ResponseTarget`: its parts are written on the connection's event loop.
    struct Target: ResponseTarget {
        let exchange: NIOLoopBound<HTTP2Exchange>
        let allocator: ByteBufferAllocator

        var eventLoop: any EventLoop { exchange.eventLoop }

        func write(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?) {
            onLoop { $0.write(part, promise: promise) }
        }

        func flush() {
            onLoop { $0.flush() }
        }

        func close() {
            onLoop { $0.reset() }
        }

        private func onLoop(_ body: @escaping @Sendable (HTTP2Exchange) -> Void) {
            if exchange.eventLoop.inEventLoop {
                body(exchange.value)
            } else {
                let exchange = self.exchange
                exchange.eventLoop.execute { body(exchange.value) }
            }
        }
    }
}
