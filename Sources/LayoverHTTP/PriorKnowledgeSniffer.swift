import NIOCore

/// Tells HTTP/2 with prior knowledge (h2c) from HTTP/1.1 on a cleartext connection by its first
/// bytes: the HTTP/2 connection preface, or anything else.
///
/// It holds what arrives until it can decide (one byte settles it for every HTTP/1.1 request,
/// which never starts with `PRI`), lets `configure` build the rest of the pipeline, then passes
/// the held bytes on and removes itself. A connection that sends nothing is closed after
/// `idleTimeout`; one that starts the preface but does not finish it, after `headerTimeout`.
final class PriorKnowledgeSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// What the first bytes say.
    enum Kind { case http1, http2 }

    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let configure: (Kind, any Channel) -> EventLoopFuture<Void>
    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var held: ByteBuffer?
    private var deadline: Scheduled<Void>?
    private var decided = false

    init(headerTimeout: TimeAmount, idleTimeout: TimeAmount,
         configure: @escaping (Kind, any Channel) -> EventLoopFuture<Void>) {
        self.configure = configure
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(idleTimeout, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard !decided else {
            held.setOrWriteBuffer(&bytes)
            return
        }
        if held == nil { arm(headerTimeout, context: context) }
        held.setOrWriteBuffer(&bytes)
        guard let decision = Self.decide(held!) else { return }
        decided = true
        deadline?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        configure(decision, context.channel).whenComplete { result in
            let (handler, context) = loopBound.value
            switch result {
            case .success: handler.handOver(context: context)
            case .failure(let error): context.fireErrorCaught(error)
            }
        }
    }

    /// The protocol `bytes` begin, or nil while they are a proper prefix of the preface.
    static func decide(_ bytes: ByteBuffer) -> Kind? {
        let count = min(bytes.readableBytes, preface.count)
        let start = bytes.readableBytesView.prefix(count)
        guard start.elementsEqual(preface.prefix(count)) else { return .http1 }
        return count == preface.count ? .http2 : nil
    }

    private func handOver(context: ChannelHandlerContext) {
        if let held {
            self.held = nil
            context.fireChannelRead(wrapInboundOut(held))
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        deadline?.cancel()
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }
}
