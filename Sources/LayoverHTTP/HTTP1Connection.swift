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
///   An answer's head is held back until something else is written, so that a small body in
///   memory and the end go out with it as one buffer: one write through the pipeline and one
///   iovec instead of three. A flush, a file region, a larger body or a write that asks for a
///   promise sends the held head first.
/// - A request the decoder refuses, when no answer is under way, is answered `431` (head over
///   `maxHeaderBytes`) or `400` with an OCI error, and the connection closes.
final class HTTP1Connection: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = IOData

    /// Cleartext: stored files may go out with sendfile.
    private let sendfile: Bool
    private let maxHeaderBytes: Int
    private let intake: RequestIntake
    private var encoder = HTTP1AnswerEncoder()
    /// The encoded head of the answer being written, with the small body bytes after it, not
    /// yet passed on.
    private var held: ByteBuffer?

    /// A head was taken up and its request's end is not yet read.
    private var requestOpen = false
    /// A request was handed to the responder and its answer's end is not yet written.
    private var answering = false
    /// The method of the request being answered (a `HEAD` answer has no body).
    private var method = HTTPMethod.GET
    /// Parts of pipelined requests, waiting for the answer under way.
    private var waiting = CircularBuffer<HTTPServerRequestPart>()
    private var takingUpWaiting = false
    /// An error closed the connection (and answered it, when it could).
    private var failed = false
    private var readPending = false
    /// What the intake calls when a body's reader caught up (made once, not per part).
    private lazy var onReadsResumed: (ChannelHandlerContext) -> Void = { [weak self] in self?.resumeReads(context: $0) }

    /// - Parameters:
    ///   - requests: makes the requests and answers them (the front's `RequestDispatch`).
    ///   - sendfile: stored files may be written as `FileRegion`s (cleartext only).
    ///   - deadline: the connection's deadlines.
    ///   - maxHeaderBytes: the decoder's limit, named in a `431` answer.
    init(requests: any HTTP1Requests, sendfile: Bool, deadline: ConnectionDeadline, maxHeaderBytes: Int) {
        self.intake = RequestIntake(requests: requests, deadline: deadline)
        self.sendfile = sendfile
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
        case .end:
            requestOpen = false
        case .body:
            break
        }
        guard let request = intake.take(part, context: context, resumed: onReadsResumed) else { return }
        answering = true
        intake.answer(request, on: context.channel, transport: ResponseWriter.Transport(sendfile: sendfile, multiplexed: false))
    }

    /// The answer's end was written: the next request may be taken up.
    private func answerEnded(context: ChannelHandlerContext) {
        answering = false
        intake.deadline.answerEnded()
        // An answer written while waiting requests are taken up (one answered at once) returns here.
        guard !takingUpWaiting else { return }
        takingUpWaiting = true
        // A request that may carry a body is answered from its head on: its body's pieces and
        // end follow it at once; only the next head waits for its answer.
        while let part = waiting.first {
            if case .head = part, answering { break }
            waiting.removeFirst()
            take(part, context: context)
        }
        takingUpWaiting = false
        if waiting.isEmpty { readIfPending(context: context) }
    }

    // MARK: Reads

    func read(context: ChannelHandlerContext) {
        if intake.readsPaused || !waiting.isEmpty {
            readPending = true
        } else {
            context.read()
        }
    }

    private func resumeReads(context: ChannelHandlerContext) {
        if waiting.isEmpty { readIfPending(context: context) }
    }

    private func readIfPending(context: ChannelHandlerContext) {
        guard readPending, !intake.readsPaused else { return }
        readPending = false
        context.read()
    }

    // MARK: Answers

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            passHeld(context: context)
            do {
                let bytes = try encoder.head(head, method: method, allocator: context.channel.allocator)
                if promise == nil {
                    held = bytes
                } else {
                    context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: promise)
                }
            } catch {
                promise?.fail(error)
                context.close(promise: nil)
            }
        case .body(let piece):
            switch encoder.body(piece, allocator: context.channel.allocator) {
            case .dropped:
                promise?.succeed()
            case .plain(.byteBuffer(var bytes)) where held != nil && promise == nil && bytes.readableBytes <= HTTP1AnswerEncoder.smallBodyRoom:
                held?.writeBuffer(&bytes)
            case .plain(let piece):
                passHeld(context: context)
                context.write(wrapOutboundOut(piece), promise: promise)
            case .chunk(let size, let piece):
                passHeld(context: context)
                context.write(wrapOutboundOut(.byteBuffer(size)), promise: nil)
                context.write(wrapOutboundOut(piece), promise: nil)
                context.write(wrapOutboundOut(.byteBuffer(HTTP1AnswerEncoder.chunkEnd)), promise: promise)
            }
        case .end:
            var last = held
            held = nil
            if var end = encoder.end() {
                if last == nil { last = end } else { last?.writeBuffer(&end) }
            }
            if let last {
                context.write(wrapOutboundOut(.byteBuffer(last)), promise: promise)
            } else if let promise {
                // Completed in order with the writes before it.
                context.write(wrapOutboundOut(.byteBuffer(ByteBuffer())), promise: promise)
            }
            answerEnded(context: context)
        }
    }

    func flush(context: ChannelHandlerContext) {
        passHeld(context: context)
        context.flush()
    }

    /// Passes on the held head (and the body bytes after it).
    private func passHeld(context: ChannelHandlerContext) {
        guard let bytes = held else { return }
        held = nil
        context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: nil)
    }

    // MARK: Failures

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The decoder reports its error a second time as the connection closes: the first
        // report answered and closed.
        guard !failed else { return }
        failed = true
        if let error = error as? HTTPParserError, !answering, !requestOpen {
            refuse(error, context: context)
        }
        intake.fail(error)
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
        intake.fail(ChannelError.eof)
        context.fireChannelInactive()
    }
}

/// Where an HTTP/1.1 connection's requests go: the front's `RequestDispatch` (tests hold them).
protocol HTTP1Requests {
    /// The request read from `head`, with `body`, from `remoteAddress`.
    func request(_ head: HTTPRequestHead, body: RequestBody, remoteAddress: SocketAddress?) -> Request
    /// Answers `request` onto `channel`; `loopExecutor` runs the tasks that stay on its event loop.
    func answer(_ request: Request, on channel: any Channel, transport: ResponseWriter.Transport, loopExecutor: EventLoopTaskExecutor)
}

extension RequestDispatch: HTTP1Requests {
    func answer(_ request: Request, on channel: any Channel, transport: ResponseWriter.Transport, loopExecutor: EventLoopTaskExecutor) {
        dispatch(request, to: ChannelTarget(channel: channel), connection: channel, transport: transport, loopExecutor: loopExecutor)
    }
}
