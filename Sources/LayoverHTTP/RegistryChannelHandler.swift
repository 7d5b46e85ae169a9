import Logging
import NIOCore
import NIOHTTP1

/// The per-connection handler: one request at a time (NIO's pipelining handler holds the next
/// one back until this answer's end is written). A request that may carry a body is handed to the
/// responder at its head, its body streamed with backpressure; others at their end.
final class RegistryChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: RegistryResponder
    private let connections: ConnectionTracker
    private let accessLog: Logger?
    /// Cleartext HTTP/1.1: stored files may go out with sendfile.
    private let sendfile: Bool
    /// HTTP/1.1 only: the connection's idle and head deadlines (HTTP/2 has its own).
    private let deadline: ConnectionDeadline?
    private var head: HTTPRequestHead?
    private var bodySource: RequestBody.Producer.Source?
    /// The body's consumer is behind: hold reads until it asks for more.
    private var readsPaused = false
    private var readPending = false
    /// Runs the tasks of requests that stay on this connection's event loop; made on first use.
    private var loopExecutor: EventLoopTaskExecutor?
    /// Intercept mode: the upstream every request here is for (the client named its host).
    private let intercepted: InterceptOptions.Upstream?

    /// - Parameters:
    ///   - sendfile: stored files may be written as `FileRegion`s (cleartext HTTP/1.1 only).
    ///   - deadline: the HTTP/1.1 connection's deadlines; nil on an HTTP/2 stream.
    ///   - intercepted: the upstream of an intercepted connection; nil on the front.
    init(responder: RegistryResponder, connections: ConnectionTracker, accessLog: Logger?,
         sendfile: Bool, deadline: ConnectionDeadline?, intercepted: InterceptOptions.Upstream? = nil) {
        self.intercepted = intercepted
        self.responder = responder
        self.connections = connections
        self.accessLog = accessLog
        self.sendfile = sendfile
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let mayHaveBody = Self.mayHaveBody(head)
            deadline?.headReceived(body: mayHaveBody)
            if mayHaveBody {
                let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                let eventLoop = context.eventLoop
                let demand = BodyReadDemand {
                    eventLoop.execute {
                        let (handler, context) = loopBound.value
                        handler.resumeReads(context: context)
                    }
                }
                let made = RequestBody.Producer.makeSequence(
                    backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false, delegate: demand)
                bodySource = made.source
                var request = Request(head: head, body: RequestBody(producer: made.sequence, onFirstRead: Self.continueSender(head, context.channel)),
                                      remoteAddress: context.channel.remoteAddress)
                request.interceptedUpstream = intercepted?.name
                dispatch(request, channel: context.channel, executor: nil)
            } else {
                self.head = head
            }
        case .body(let buffer):
            guard let bodySource else { return }
            if case .stopProducing = bodySource.yield(buffer) { readsPaused = true }
        case .end:
            if let bodySource {
                deadline?.bodyEnded()
                bodySource.finish()
                self.bodySource = nil
            } else if let head {
                self.head = nil
                var request = Request(head: head, body: .empty, remoteAddress: context.channel.remoteAddress)
                request.interceptedUpstream = intercepted?.name
                dispatch(request, channel: context.channel, executor: Self.staysOnEventLoop(request) ? eventLoopExecutor(context) : nil)
            }
        }
    }

    /// Pulls of manifests and blobs (and the version check, and health): answered from memory
    /// and the page cache when stored, and otherwise only awaiting (the upstream, the store's
    /// threads for fsync, downloads that run detached). Pushes hash their bodies, and the admin
    /// and readiness endpoints read the index: they run on the global executor.
    static func staysOnEventLoop(_ request: Request) -> Bool {
        guard request.method == .GET || request.method == .HEAD else { return false }
        switch Route(path: request.path) {
        case .manifest, .blob, .base, .health: return true
        default: return false
        }
    }

    private func eventLoopExecutor(_ context: ChannelHandlerContext) -> EventLoopTaskExecutor {
        if let loopExecutor { return loopExecutor }
        let made = EventLoopTaskExecutor(context.eventLoop)
        loopExecutor = made
        return made
    }

    /// Answers `request` in a task of its own: on `executor` when given, else on the global executor.
    private func dispatch(_ request: Request, channel: any Channel, executor: EventLoopTaskExecutor?) {
        let responder = self.responder
        let connections = self.connections
        let accessLog = self.accessLog
        let context = RequestContext(id: RequestContext.id(from: request.headers))
        // The TCP connection: the channel itself, or the parent of an HTTP/2 stream.
        let connection = deadline == nil ? (channel.parent ?? channel) : channel
        let transport = ResponseWriter.Transport(sendfile: sendfile, multiplexed: deadline == nil)
        let answered = deadline.map { NIOLoopBound($0, eventLoop: channel.eventLoop) }
        connections.began(connection)
        // The task inherits the context: every log line written while answering carries the id.
        RequestContext.$current.withValue(context) {
            Task(executorPreference: executor) {
                let ended = await Self.answer(request, id: context.id, responder: responder, connections: connections,
                                              accessLog: accessLog, transport: transport, channel: channel)
                ended.whenComplete { _ in
                    connections.ended(connection)
                    answered?.value.answerEnded()
                }
            }
        }
    }

    /// Asks the responder, writes its answer, and logs the access line.
    private static func answer(_ request: Request, id: String, responder: RegistryResponder, connections: ConnectionTracker,
                               accessLog: Logger?, transport: ResponseWriter.Transport, channel: any Channel) async -> EventLoopFuture<Void> {
        let started = ContinuousClock.now
        var request = request
        var response = await responder.respond(to: request)
        response.headers.replaceOrAdd(name: "X-Request-Id", value: id)
        if request.body.expectsContinue, !request.body.wasRequested {
            // The client waits for 100 Continue that will not come: the final answer goes at once
            // (RFC 9110 §10.1.1), and the connection closes, since the body may follow or not.
            request.keepAlive = false
        } else {
            // Read what the responder left (an oversized manifest, a refused upload) so that the
            // client gets its answer on a live connection; past 16 MiB the connection is closed instead.
            // On an HTTP/2 stream "keep alive" means the stream ends normally; the connection
            // quiesces by itself during a shutdown.
            let open = transport.multiplexed || (request.keepAlive && !connections.isDraining)
            request.keepAlive = await request.body.drain(upTo: 16 << 20) && open
        }
        let status = response.status.code
        let written = await ResponseWriter.write(response, keepAlive: request.keepAlive,
                                                 headOnly: request.method == .HEAD, transport: transport, on: channel)
        // Built only when it will be written: the access line is skipped below info level.
        guard let accessLog, accessLog.logLevel <= .info else { return written.ended }
        // Client input goes into the line percent-encoded: a decoded `%0a` cannot start a new line.
        var metadata: Logger.Metadata = [
            "method": "\(request.method.rawValue)", "path": "\(Escaping.logValue(request.path))", "status": "\(status)",
            "bytes": "\(written.bodyBytes)", "ms": "\(milliseconds(since: started))",
            "remote": "\(request.remoteAddress?.ipAddress ?? "-")",
        ]
        metadata.merge(Route(path: request.path).logMetadata) { $1 }
        if let namespace = request.queryValue("ns") { metadata["ns"] = "\(Escaping.logValue(namespace))" }
        metadata["protocol"] = transport.multiplexed ? "h2" : "http/1.1"
        accessLog.info("access", metadata: metadata)
        return written.ended
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

    /// Elapsed milliseconds with one decimal, for the access log.
    static func milliseconds(since start: ContinuousClock.Instant) -> String {
        let tenths = Int((ContinuousClock.now - start) / .microseconds(100))
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// For an HTTP/1.1 request with `Expect: 100-continue`: writes `100 Continue`, once the
    /// responder asks for the body. Nil for other requests.
    private static func continueSender(_ head: HTTPRequestHead, _ channel: any Channel) -> (@Sendable () -> Void)? {
        guard head.version.major > 1 || head.version.minor >= 1,
              head.headers["expect"].contains(where: { Substring($0).trimmingCharacters(in: " ").lowercased() == "100-continue" })
        else { return nil }
        return {
            channel.writeAndFlush(HTTPServerResponsePart.head(HTTPResponseHead(version: head.version, status: .continue)), promise: nil)
        }
    }

    /// POST, PUT and PATCH may carry a body (chunked or with a length).
    private static func mayHaveBody(_ head: HTTPRequestHead) -> Bool {
        switch head.method {
        case .POST, .PUT, .PATCH: true
        default: false
        }
    }
}

extension RequestBody {
    /// Reads and drops what the responder left unread, so the connection can serve the next
    /// request. Returns false (close the connection) when more than `limit` bytes remain.
    func drain(upTo limit: Int) async -> Bool {
        var left = limit
        do {
            for try await chunk in self {
                left -= chunk.readableBytes
                if left < 0 { return false }
            }
            return true
        } catch {
            return false
        }
    }
}
