import Logging
import NIOCore
import NIOHTTP1

/// Answers requests once they are read: a pull the store answers at once, where it is read; any
/// other in a task of its own. The answer is written to its target, its access line logged.
/// Shared by HTTP/1.1 connections (`HTTP1Connection`; `RegistryChannelHandler` behind the
/// intercept proxy) and HTTP/2 streams (`HTTP2Connection`).
struct RequestDispatch: Sendable {
    let responder: RegistryResponder
    let connections: ConnectionTracker
    let accessLog: Logger?
    /// Intercept mode: the upstream every request here is for (the client named its host).
    let intercepted: InterceptOptions.Upstream?

    /// A request read from `head`, with `body`, from the client at `remoteAddress`.
    func request(_ head: HTTPRequestHead, body: RequestBody, remoteAddress: SocketAddress?) -> Request {
        var request = Request(head: head, body: body, remoteAddress: remoteAddress)
        request.interceptedUpstream = intercepted?.name
        return request
    }

    /// Answers `request` onto `target`: at once, on the caller's thread (the target's event loop),
    /// when `RegistryResponder.respondFromStore` can; else in a task of its own, on `loopExecutor`
    /// (the target's event loop) when the request stays there (`staysOnEventLoop`), else on the
    /// global executor. `connection` (the TCP connection) counts as busy until the answer's end
    /// is written.
    func dispatch(_ request: Request, to target: some ResponseTarget, connection: any Channel, transport: ResponseWriter.Transport,
                  loopExecutor: EventLoopTaskExecutor?) {
        let responder = self.responder
        let connections = self.connections
        let accessLog = self.accessLog
        let context = RequestContext(id: RequestContext.id(from: request.headers))
        connections.began(connection)
        // The task inherits the context: every log line written while answering carries the id.
        RequestContext.$current.withValue(context) {
            if let written = Self.answerFromStore(request, id: context.id, responder: responder, connections: connections,
                                                  accessLog: accessLog, transport: transport, target: target) {
                written.whenComplete { _ in connections.ended(connection) }
                return
            }
            Task(executorPreference: Self.staysOnEventLoop(request) ? loopExecutor : nil) {
                let written = await Self.answer(request, id: context.id, responder: responder, connections: connections,
                                                accessLog: accessLog, transport: transport, target: target)
                written.whenComplete { _ in connections.ended(connection) }
            }
        }
    }

    /// Answers a pull that the responder answers from memory and the store at once (see
    /// `RegistryResponder.respondFromStore`), here, without a task; nil for any other request.
    private static func answerFromStore(_ request: Request, id: String, responder: RegistryResponder, connections: ConnectionTracker,
                                        accessLog: Logger?, transport: ResponseWriter.Transport,
                                        target: some ResponseTarget) -> EventLoopFuture<Void>? {
        let started = ContinuousClock.now
        guard var response = responder.respondFromStore(to: request) else { return nil }
        response.headers.add(name: "X-Request-Id", value: id)  // answers from the store carry none of their own
        // A pull has no body to wait for or to drain.
        let keepAlive = staysOpen(request, transport: transport, connections: connections)
        let written = ResponseWriter.writeReady(response, keepAlive: keepAlive, headOnly: request.method == .HEAD,
                                                transport: transport, on: target)
        logAccess(request, status: response.status.code, written: written, started: started, transport: transport, to: accessLog)
        return written.ended
    }

    /// Asks the responder, writes its answer, and logs the access line.
    private static func answer(_ request: Request, id: String, responder: RegistryResponder, connections: ConnectionTracker,
                               accessLog: Logger?, transport: ResponseWriter.Transport, target: some ResponseTarget) async -> EventLoopFuture<Void> {
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
            let open = staysOpen(request, transport: transport, connections: connections)
            request.keepAlive = await request.body.drain(upTo: 16 << 20) && open
        }
        let written = await ResponseWriter.write(response, keepAlive: request.keepAlive,
                                                 headOnly: request.method == .HEAD, transport: transport, on: target)
        logAccess(request, status: response.status.code, written: written, started: started, transport: transport, to: accessLog)
        return written.ended
    }

    /// Whether the connection (HTTP/1.1) may serve another request after `request`'s answer:
    /// as the client asked, unless the server is draining. Always on an HTTP/2 stream.
    private static func staysOpen(_ request: Request, transport: ResponseWriter.Transport, connections: ConnectionTracker) -> Bool {
        transport.multiplexed || (request.keepAlive && !connections.isDraining)
    }

    /// Logs `request`'s access line, answered `status` and `written` since `started`.
    private static func logAccess(_ request: Request, status: UInt, written: ResponseWriter.Written, started: ContinuousClock.Instant,
                                  transport: ResponseWriter.Transport, to accessLog: Logger?) {
        // Built only when it will be written: the access line is skipped below info level.
        guard let accessLog, accessLog.logLevel <= .info else { return }
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

    /// POST, PUT and PATCH may carry a body (chunked or with a length).
    static func mayHaveBody(_ head: HTTPRequestHead) -> Bool {
        switch head.method {
        case .POST, .PUT, .PATCH: true
        default: false
        }
    }

    /// The body of the request `head`, as the connection feeds it: `source` takes what arrives;
    /// `resume` runs (on any thread) once the body's reader has caught up after `source` said to
    /// stop. A client waiting for `100 Continue` gets it on `target` when the body is first read.
    static func body(of head: HTTPRequestHead, answeringOn target: some ResponseTarget,
                     resume: @escaping @Sendable () -> Void) -> (source: RequestBody.Producer.Source, body: RequestBody) {
        let made = RequestBody.Producer.makeSequence(
            backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false, delegate: BodyReadDemand(resume: resume))
        return (made.source, RequestBody(producer: made.sequence, onFirstRead: continueSender(head, target)))
    }

    /// For a request with `Expect: 100-continue` (HTTP/1.1 or later): writes `100 Continue` to
    /// `target`, once the responder asks for the body. Nil for other requests.
    private static func continueSender(_ head: HTTPRequestHead, _ target: some ResponseTarget) -> (@Sendable () -> Void)? {
        guard head.version.major > 1 || head.version.minor >= 1,
              head.headers["expect"].contains(where: { Substring($0).trimmingCharacters(in: " ").lowercased() == "100-continue" })
        else { return nil }
        return {
            target.write(HTTPServerResponsePart.head(HTTPResponseHead(version: head.version, status: .continue)), promise: nil)
            target.flush()
        }
    }

    /// Elapsed milliseconds with one decimal, for the access log.
    static func milliseconds(since start: ContinuousClock.Instant) -> String {
        let tenths = Int((ContinuousClock.now - start) / .microseconds(100))
        return "\(tenths / 10).\(tenths % 10)"
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
