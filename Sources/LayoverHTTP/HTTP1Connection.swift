import LayoverWire
import NIOCore
import NIOHTTP1

/// One HTTP/1.1 connection of the front (cleartext or TLS), after NIO's request decoder: the
/// one handler between the parsed requests and the socket's bytes.
///
/// - Requests are answered one at a time, in order. A request that may carry a body is handed
///   to the responder at its head, its body streamed with backpressure (reads held while the
///   body's reader is behind); others at their end. A pipelined request that arrives while an
///   answer is being written waits here, and reads are held until it is taken up; while the one
///   request in hand is answered the read interest stays registered (a client that waits for each
///   answer sends nothing meanwhile, and re-registering costs two `epoll_ctl` per request).
/// - Answers are encoded here (`HTTP1AnswerEncoder`); their end moves the connection's deadlines.
/// - A request the decoder refuses, when no answer is under way, is answered `431` (head over
///   `maxHeaderBytes`) or `400` with an OCI error, and the connection closes.
final class HTTP1Connection: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = IOData

    private let requests: any HTTP1Requests
    /// Cleartext: stored files may go out with sendfile.
    private let sendfile: Bool
    /// The connection's idle, head and body deadlines.
    private let deadline: ConnectionDeadline
    private let maxHeaderBytes: Int
    private var encoder = HTTP1AnswerEncoder()

    /// A bodiless request's head, until its end is read.
    private var head: HTTPRequestHead?
    /// A head was taken up and its request's end is not yet read.
    private var requestOpen = false
    /// A request was handed to the responder and its answer's end is not yet written.
    private var answering = false
    /// The method of the request being answered (a `HEAD` answer has no body).
    private var method = HTTPMethod.GET
    /// Parts of pipelined requests, waiting for the answer under way.
    private var waiting = CircularBuffer<HTTPServerRequestPart>()
    private var takingUpWaiting = false
    private var bodySource: RequestBody.Producer.Source?
    /// The body's consumer is behind: hold reads until it asks for more.
    private var readsPaused = false
    private var readPending = false
    /// Runs the tasks of requests that stay on this connection's event loop; made on first use.
    private var loopExecutor: EventLoopTaskExecutor?

    /// - Parameters:
    ///   - sendfile: stored files may be written as `FileRegion`s (cleartext only).
    ///   - deadline: the connection's deadlines.
    ///   - maxHeaderBytes: the decoder's limit, named in a `431` answer.
    init(requests: any HTTP1Requests, sendfile: Bool, deadline: ConnectionDeadline, maxHeaderBytes: Int) {
        self.requests = requests
        self.sendfile = sendfile
        self.deadline = deadline
        self.maxHeaderBytes = maxHeaderBytes
    }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        let isHead = if case .head = part { true } else { false }
        // A head while an answer is under way, and what follows it, waits its turn.
        if !waiting.isEmpty || (isHead && answering) || (!isHead && !requestOpen) {
            waiting.append(part)
            return
        }
        take(part, context: context)
    }

    private func take(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            method = head.method
            requestOpen = true
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
                answer(requests.request(head, body: body, remoteAddress: context.channel.remoteAddress), context: context, executor: nil)
            } else {
                self.head = head
            }
        case .body(let buffer):
            guard let bodySource else { return }
            if case .stopProducing = bodySource.yield(buffer) { readsPaused = true }
        case .end:
            requestOpen = false
            if let bodySource {
                deadline.bodyEnded()
                bodySource.finish()
                self.bodySource = nil
            } else if let head {
                self.head = nil
                let request = requests.request(head, body: .empty, remoteAddress: context.channel.remoteAddress)
                answer(request, context: context, executor: RequestDispatch.staysOnEventLoop(request) ? eventLoopExecutor(context) : nil)
            }
        }
    }

    private func answer(_ request: Request, context: ChannelHandlerContext, executor: EventLoopTaskExecutor?) {
        answering = true
        requests.answer(request, on: context.channel, transport: ResponseWriter.Transport(sendfile: sendfile, multiplexed: false),
                        executor: executor)
    }

    private func eventLoopExecutor(_ context: ChannelHandlerContext) -> EventLoopTaskExecutor {
        if let loopExecutor { return loopExecutor }
        let made = EventLoopTaskExecutor(context.eventLoop)
        loopExecutor = made
        return made
    }

    /// The answer's end was written: the next request may be taken up.
    private func answerEnded(context: ChannelHandlerContext) {
        answering = false
        deadline.answerEnded()
        // An answer written while waiting requests are taken up (one answered at once) returns here.
        guard !takingUpWaiting else { return }
        takingUpWaiting = true
        while !answering, let part = waiting.popFirst() {
            take(part, context: context)
        }
        takingUpWaiting = false
        if waiting.isEmpty { readIfPending(context: context) }
    }

    // MARK: Reads

    func read(context: ChannelHandlerContext) {
        if readsPaused || !waiting.isEmpty {
            readPending = true
        } else {
            context.read()
        }
    }

    private func resumeReads(context: ChannelHandlerContext) {
        readsPaused = false
        if waiting.isEmpty { readIfPending(context: context) }
    }

    private func readIfPending(context: ChannelHandlerContext) {
        guard readPending, !readsPaused else { return }
        readPending = false
        context.read()
    }

    // MARK: Answers

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            do {
                let bytes = try encoder.head(head, method: method, allocator: context.channel.allocator)
                context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: promise)
            } catch {
                promise?.fail(error)
                context.close(promise: nil)
            }
        case .body(let piece):
            let pieces = encoder.body(piece, allocator: context.channel.allocator)
            guard let last = pieces.last else {
                promise?.succeed()
                return
            }
            for piece in pieces.dropLast() { context.write(wrapOutboundOut(piece), promise: nil) }
            context.write(wrapOutboundOut(last), promise: promise)
        case .end:
            if let bytes = encoder.end() {
                context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: promise)
            } else if let promise {
                // Completed in order with the writes before it.
                context.write(wrapOutboundOut(.byteBuffer(ByteBuffer())), promise: promise)
            }
            answerEnded(context: context)
        }
    }

    // MARK: Failures

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError, !answering, !requestOpen {
            refuse(error, context: context)
        }
        bodySource?.finish(error)
        bodySource = nil
        context.close(promise: nil)
    }

    /// Answers a request the decoder refused.
    private func refuse(_ error: HTTPParserError, context: ChannelHandlerContext) {
        let refusal = Self.refusal(for: error, maxHeaderBytes: maxHeaderBytes)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(refusal.jsonBody.utf8.count))
        headers.add(name: "Docker-Distribution-API-Version", value: "registry/2.0")
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: refusal.status), headers: headers)
        var encoder = HTTP1AnswerEncoder()
        guard let bytes = try? encoder.head(head, method: .GET, allocator: context.channel.allocator) else { return }
        context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer(string: refusal.jsonBody))), promise: nil)
    }

    /// The answer to input the decoder refused: `431` for a head over `maxHeaderBytes`, else `400`.
    static func refusal(for error: HTTPParserError, maxHeaderBytes: Int) -> OCIError {
        switch error {
        case .headerOverflow:
            OCIError(status: 431, code: .unsupported, message: "request head over \(maxHeaderBytes) bytes")
        default:
            OCIError(status: 400, code: .unsupported, message: "malformed HTTP request: \(error)")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        bodySource?.finish(ChannelError.eof)
        bodySource = nil
        context.fireChannelInactive()
    }
}

/// Where an HTTP/1.1 connection's requests go: the front's `RequestDispatch` (tests hold them).
protocol HTTP1Requests {
    /// The request read from `head`, with `body`, from `remoteAddress`.
    func request(_ head: HTTPRequestHead, body: RequestBody, remoteAddress: SocketAddress?) -> Request
    /// Answers `request` onto `channel`, on `executor` when given.
    func answer(_ request: Request, on channel: any Channel, transport: ResponseWriter.Transport, executor: EventLoopTaskExecutor?)
}

extension RequestDispatch: HTTP1Requests {
    func answer(_ request: Request, on channel: any Channel, transport: ResponseWriter.Transport, executor: EventLoopTaskExecutor?) {
        dispatch(request, to: ChannelTarget(channel: channel), connection: channel, transport: transport, executor: executor)
    }
}
