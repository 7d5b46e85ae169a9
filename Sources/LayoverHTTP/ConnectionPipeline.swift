import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL
import NIOTLS

/// Builds the pipeline of each accepted connection.
///
/// - TLS on: the TLS handler, then ALPN picks HTTP/2 (`h2`) or HTTP/1.1.
/// - TLS off: the first bytes pick HTTP/2 with prior knowledge (h2c) or HTTP/1.1, on one port.
///
/// HTTP/1.1 gets NIO's request parser and `HTTP1Connection` (requests in order, answers encoded,
/// parser errors answered), our deadlines watching the bytes; HTTP/2 gets NIO's HTTP/2 handler and `HTTP2Connection`, which
/// serves the streams without a channel each. Both answer through `RequestDispatch`. Only
/// cleartext HTTP/1.1 sends stored files with `sendfile`.
struct ConnectionPipeline: Sendable {
    let responder: RegistryResponder
    let connections: ConnectionTracker
    let options: FrontOptions
    /// Intercept mode: the upstream every request of these connections is for; nil on the front.
    var intercepted: InterceptOptions.Upstream?

    /// Per-stream receive window: a push over HTTP/2 is not window-bound on a fast link, and a
    /// stream whose body is not being read (the store is behind) holds at most this much.
    static let streamWindow = 1 << 20
    /// Connection receive window, across streams.
    static let connectionWindow = 8 << 20

    func configure(_ channel: any Channel) -> EventLoopFuture<Void> {
        let admission = connections.opened(channel)
        if admission == .refused { return channel.eventLoop.makeSucceededVoidFuture() }
        let overflow = admission == .overflow
        return channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            if let tls = options.tls {
                try addTLS(sync, context: tls.context, overflow: overflow)
            } else {
                // A connection beyond the limit must not hold its descriptor for long, bytes or not.
                let idle = overflow ? OverflowHandler.idleTimeout : options.idleTimeout
                try sync.addHandler(PriorKnowledgeSniffer(headerTimeout: min(idle, options.headerTimeout), idleTimeout: idle) { kind, channel in
                    switch kind {
                    case .http2: configureHTTP2(channel, overflow: overflow)
                    case .http1: configureHTTP1(channel, sendfile: true, overflow: overflow)
                    }
                })
            }
        }
    }

    /// TLS with `context`, a handshake deadline, and ALPN choosing HTTP/2 or HTTP/1.1.
    private func addTLS(_ sync: ChannelPipeline.SynchronousOperations, context: NIOSSLContext, overflow: Bool) throws {
        try sync.addHandler(NIOSSLServerHandler(context: context))
        try sync.addHandler(HandshakeDeadline(timeout: overflow ? OverflowHandler.idleTimeout : options.headerTimeout))
        try sync.addHandler(ApplicationProtocolNegotiationHandler { result, channel in
            if case .negotiated("h2") = result { return configureHTTP2(channel, overflow: overflow) }
            return configureHTTP1(channel, sendfile: false, overflow: overflow)
        })
    }

    /// An intercept-listener connection: HTTP/1.1 for `CONNECT` and absolute-form requests,
    /// answered by `ProxyRequestHandler`.
    func configureProxy(_ channel: any Channel, intercept: InterceptOptions) -> EventLoopFuture<Void> {
        let admission = connections.opened(channel)
        if admission == .refused { return channel.eventLoop.makeSucceededVoidFuture() }
        if admission == .overflow { return channel.close() }
        return channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes, informationalResponseStrategy: .drop,
                                                                       limitConfiguration: decoderLimits), maximumBufferSize: nil),
                                name: ProxyRequestHandler.codecNames[0])
            try sync.addHandler(HTTPResponseEncoder(), name: ProxyRequestHandler.codecNames[1])
            try sync.addHandler(HTTPServerPipelineHandler(), name: ProxyRequestHandler.codecNames[2])
            try sync.addHandler(ProxyRequestHandler(options: intercept, pipeline: self, headerTimeout: options.headerTimeout))
        }
    }

    /// After an intercepted `CONNECT`: the ClientHello's server name checked against the host
    /// (a client naming another host is closed; none, as for an address, is accepted), then TLS
    /// with the host's leaf, then HTTP/1.1 or HTTP/2 whose every request is `upstream`'s.
    func interceptTLS(_ channel: any Channel, upstream: InterceptOptions.Upstream, context: NIOSSLContext) throws {
        var intercepting = self
        intercepting.intercepted = upstream
        // Until the ClientHello is in; the TLS handshake then gets a deadline of its own.
        let helloDeadline = HandshakeDeadline(timeout: options.headerTimeout)
        try channel.pipeline.syncOperations.addHandler(helloDeadline)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SNIHandler { result in
            if case .hostname(let name) = result, name.lowercased() != upstream.host {
                return channel.close()
            }
            return channel.eventLoop.makeCompletedFuture {
                _ = channel.pipeline.syncOperations.removeHandler(helloDeadline)
                try intercepting.addTLS(channel.pipeline.syncOperations, context: context, overflow: false)
            }
        }))
    }

    /// The registry handler of an absolute-form proxy request's connection (cleartext HTTP/1.1,
    /// after NIO's codec and the proxy handler).
    func registryHandler(for upstream: InterceptOptions.Upstream, sendfile: Bool, deadline: ConnectionDeadline) -> RegistryChannelHandler {
        RegistryChannelHandler(responder: responder, connections: connections, accessLog: options.accessLog,
                               sendfile: sendfile, deadline: deadline, intercepted: upstream)
    }

    private func configureHTTP1(_ channel: any Channel, sendfile: Bool, overflow: Bool) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            let deadline = ConnectionDeadline(channel: channel, headerTimeout: options.headerTimeout, idleTimeout: options.idleTimeout)
            try sync.addHandler(RequestBytesObserver(deadline: deadline))
            if overflow {
                // One answer and the connection closes: NIO's codec, its errors answered by NIO.
                try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true,
                                                     withEncoderConfiguration: .init(), withDecoderLimitConfiguration: decoderLimits)
                try sync.addHandler(OverflowHandler())
                return
            }
            let decoder = HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop,
                                             limitConfiguration: decoderLimits)
            try sync.addHandler(ByteToMessageHandler(decoder))
            let dispatcher = RequestDispatch(responder: responder, connections: connections, accessLog: options.accessLog,
                                             intercepted: intercepted)
            try sync.addHandler(HTTP1Connection(requests: dispatcher, sendfile: sendfile, deadline: deadline,
                                                maxHeaderBytes: options.maxHeaderBytes))
        }
    }

    /// The HTTP/1.1 decoder's limits: a request head of at most `maxHeaderBytes`.
    private var decoderLimits: NIOHTTPDecoderLimitConfiguration {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = options.maxHeaderBytes
        limits.maxHeaderListSize = options.maxHeaderBytes
        return limits
    }

    private func configureHTTP2(_ channel: any Channel, overflow: Bool) -> EventLoopFuture<Void> {
        // Overflow answers are HTTP/1.1 only: an HTTP/2 client beyond the limit is closed at once.
        if overflow { return channel.close() }
        return channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            let manager = NIOHTTP2ServerConnectionManagementHandler(
                eventLoop: channel.eventLoop,
                configuration: .init(maxIdleTime: options.idleTimeout, maxAge: nil, maxGraceTime: nil, keepalive: nil))
            var connection = NIOHTTP2Handler.ConnectionConfiguration()
            connection.initialSettings = [
                HTTP2Setting(parameter: .maxConcurrentStreams, value: options.maxConcurrentStreams),
                HTTP2Setting(parameter: .maxHeaderListSize, value: options.maxHeaderBytes),
                HTTP2Setting(parameter: .initialWindowSize, value: Self.streamWindow),
            ]
            // Requests' header blocks are checked by `HTTP2Request`; answers' are ours.
            connection.headerBlockValidation = .disabled
            let dispatcher = RequestDispatch(responder: responder, connections: connections, accessLog: options.accessLog,
                                             intercepted: intercepted)
            try sync.addHandler(FlushCoalescingHandler())
            let goAways = GoAwayWatch()
            try sync.addHandler(NIOHTTP2Handler(mode: .server, frameDelegate: goAways, connectionConfiguration: connection))
            try sync.addHandler(manager)
            try sync.addHandler(HTTP2Connection(dispatcher: dispatcher, eventLoop: channel.eventLoop,
                                                streamWindow: Self.streamWindow, connectionWindow: Self.connectionWindow,
                                                goAways: goAways))
            try sync.addHandler(ConnectionErrorCloser())
            connections.speaksHTTP2(channel)
        }
    }
}

/// Closes a TLS connection whose handshake is not complete within `timeout`.
final class HandshakeDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        context.fireUserInboundEventTriggered(event)
        if case .handshakeCompleted = event as? TLSUserEvent {
            timer?.cancel()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

/// Closes an HTTP/2 connection on a connection error, once NIO's HTTP/2 handler has written its
/// `GOAWAY` (a peer that broke the protocol must not keep the connection open).
final class ConnectionErrorCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
