import LayoverWire
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The first handler of an intercept-listener connection (a forward proxy, `HTTPS_PROXY`):
///
/// - `CONNECT host:port` to a configured upstream: `200`, then TLS with a leaf for that host from
///   Layover's CA, and the decrypted HTTP/1.1 or HTTP/2 served as that upstream's requests.
/// - `CONNECT` to any other host: a byte-for-byte tunnel when tunnels are allowed and the port is
///   one they may use; else `403`.
/// - An absolute-form request (`GET http://host/v2/…`) to a configured upstream: served, the
///   connection bound to that upstream from then on; to any other host: `403`.
/// - A malformed target: `400`. A head not complete within the header timeout: closed.
final class ProxyRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The HTTP handlers in front of this one, removed when a `CONNECT` turns the connection into
    /// a tunnel or a TLS stream.
    static let codecNames = ["proxy-decoder", "proxy-encoder", "proxy-pipelining"]

    private let options: InterceptOptions
    private let pipeline: ConnectionPipeline
    private let headerTimeout: TimeAmount
    private var state = State.idle
    private var deadline: Scheduled<Void>?

    private enum State {
        case idle
        /// A `CONNECT` whose end has not arrived yet.
        case connecting(host: String, port: Int, upstream: InterceptOptions.Upstream?)
        /// Absolute-form requests for this upstream, passed on to the registry handler.
        case forwarding(InterceptOptions.Upstream)
        /// A refused request's remaining parts, dropped.
        case refusing
        /// Handed over (tunnel or TLS); nothing more comes here.
        case done
    }

    init(options: InterceptOptions, pipeline: ConnectionPipeline, headerTimeout: TimeAmount) {
        self.options = options
        self.pipeline = pipeline
        self.headerTimeout = headerTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: headerTimeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (state, part) {
        case (.idle, .head(let head)), (.forwarding, .head(let head)):
            deadline?.cancel()
            if head.method == .CONNECT {
                connectReceived(context, head)
            } else {
                absoluteFormReceived(context, head, data)
            }
        case (.connecting(let host, let port, let upstream), .end):
            state = .done
            if let upstream { intercept(context, upstream) } else { tunnel(context, host: host, port: port) }
        case (.forwarding, _):
            context.fireChannelRead(data)
        default:
            break
        }
    }

    private func connectReceived(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
        if case .forwarding = state { return refuse(context, .badRequest, "CONNECT on a connection already serving a registry") }
        guard let (host, port) = HostPort.parse(head.uri) else {
            return refuse(context, .badRequest, "CONNECT needs host:port, got \(head.uri)")
        }
        if let upstream = options.upstream(host: host, port: port) {
            state = .connecting(host: host, port: port, upstream: upstream)
        } else if options.tunnel, options.tunnelPorts.contains(port) {
            state = .connecting(host: host, port: port, upstream: nil)
        } else {
            options.logger.info("CONNECT refused", metadata: ["host": "\(host)", "port": "\(port)"])
            refuse(context, .forbidden, "CONNECT to \(host):\(port) is not allowed by this proxy")
        }
    }

    private func absoluteFormReceived(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ data: NIOAny) {
        let lowered = head.uri.lowercased()
        guard lowered.hasPrefix("http://") else {
            return refuse(context, .badRequest, "a proxy request names its target in full (http://host/…) or uses CONNECT")
        }
        let authority = String(head.uri.dropFirst("http://".count).prefix { $0 != "/" && $0 != "?" })
        guard let (host, port) = HostPort.parse(authority, defaultPort: 80),
              let upstream = options.upstreams.first(where: { $0.host == host && ($0.port == port || port == 80) }) else {
            return refuse(context, .forbidden, "\(authority) is not a registry this proxy serves")
        }
        if case .forwarding(let bound) = state, bound != upstream {
            return refuse(context, .badRequest, "one connection serves one registry: open another for \(authority)")
        }
        if case .idle = state {
            do {
                // From here on an HTTP/1.1 connection like the front's: idle and head deadlines.
                let deadline = ConnectionDeadline(channel: context.channel, headerTimeout: headerTimeout,
                                                  idleTimeout: pipeline.options.idleTimeout)
                try context.pipeline.syncOperations.addHandler(RequestBytesObserver(deadline: deadline), position: .first)
                try context.pipeline.syncOperations.addHandler(pipeline.registryHandler(for: upstream, sendfile: true, deadline: deadline),
                                                               position: .after(self))
            } catch {
                return refuse(context, .internalServerError, "cannot serve the request")
            }
        }
        state = .forwarding(upstream)
        context.fireChannelRead(data)
    }

    /// `200`, then TLS for `upstream`'s host, then its requests served from the cache.
    private func intercept(_ context: ChannelHandlerContext, _ upstream: InterceptOptions.Upstream) {
        let channel = context.channel
        let tls: NIOSSLContext
        do {
            tls = try options.leaves.context(for: upstream.host, applicationProtocols: TLSMaterial.applicationProtocols)
        } catch {
            options.logger.error("no certificate for an intercepted host", metadata: ["host": "\(upstream.host)", "error": "\(error)"])
            return refuse(context, .internalServerError, "cannot make a certificate for \(upstream.host)")
        }
        let connectionPipeline = pipeline
        established(context).flatMap {
            channel.eventLoop.makeCompletedFuture { try connectionPipeline.interceptTLS(channel, upstream: upstream, context: tls) }
        }.whenFailure { _ in channel.close(promise: nil) }
    }

    /// A tunnel to `host:port` on this connection's event loop: `200` once connected, `502` when not.
    private func tunnel(_ context: ChannelHandlerContext, host: String, port: Int) {
        let channel = context.channel
        let logger = options.logger
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .connectTimeout(.seconds(5))
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .connect(host: host, port: port)
            .whenComplete { result in
                let (handler, context) = loopBound.value
                switch result {
                case .failure(let error):
                    logger.info("tunnel target unreachable", metadata: ["host": "\(host)", "port": "\(port)", "error": "\(error)"])
                    handler.refuse(context, .badGateway, "cannot reach \(host):\(port)")
                case .success(let target):
                    logger.info("tunnel", metadata: ["host": "\(host)", "port": "\(port)"])
                    handler.established(context).flatMap {
                        channel.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                    }.flatMapThrowing {
                        let (near, far) = TunnelGlue.pair()
                        try target.pipeline.syncOperations.addHandler(far)
                        try channel.pipeline.syncOperations.addHandler(near)
                    }.whenFailure { _ in
                        target.close(promise: nil)
                        channel.close(promise: nil)
                    }
                }
            }
    }

    /// Removes the HTTP handlers and this one, then writes `200 Connection Established` as raw
    /// bytes (a `2xx` to `CONNECT` carries no length and no body).
    private func established(_ context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        let channel = context.channel
        let pipeline = context.pipeline
        var removals = Self.codecNames.map { pipeline.removeHandler(name: $0) }
        removals.append(pipeline.syncOperations.removeHandler(context: context))
        return EventLoopFuture.andAllSucceed(removals, on: context.eventLoop).flatMap {
            channel.writeAndFlush(ByteBuffer(string: "HTTP/1.1 200 Connection Established\r\n\r\n"))
        }
    }

    /// Answers `status` with a short text and closes the connection.
    private func refuse(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ message: String) {
        state = .refusing
        let body = ByteBuffer(string: message + "\n")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
