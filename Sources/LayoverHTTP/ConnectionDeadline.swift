import NIOCore

/// The deadlines of an HTTP/1.1 connection, on its event loop: between requests it may stay
/// idle for `idleTimeout`; once the first byte of a request arrives, its head must be complete
/// within `headerTimeout` (a slowloris client is cut); while a request body arrives, the
/// connection may stall for `idleTimeout` at most. While an answer is being made and written,
/// no deadline runs.
///
/// One timer per connection, moved lazily: it fires at the earliest deadline it was set for and
/// then either closes the connection or waits for the deadline as it stands now.
final class ConnectionDeadline {
    private enum Phase { case idle, head, body, answering }

    private let channel: any Channel
    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var phase = Phase.idle
    private var deadline: NIODeadline?
    private var timer: Scheduled<Void>?
    private var timerFiresAt: NIODeadline?

    init(channel: any Channel, headerTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.channel = channel
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        set(.now() + idleTimeout)
    }

    /// Request bytes arrived.
    func bytesArrived() {
        switch phase {
        case .idle:
            phase = .head
            set(.now() + headerTimeout)
        case .body:
            deadline = .now() + idleTimeout
        case .head, .answering:
            break
        }
    }

    /// A request head was parsed; its body follows when `body` is true.
    func headReceived(body: Bool) {
        phase = body ? .body : .answering
        set(body ? .now() + idleTimeout : nil)
    }

    /// The request's body ended.
    func bodyEnded() {
        phase = .answering
        set(nil)
    }

    /// The answer's end was written: the connection waits for the next request.
    func answerEnded() {
        phase = .idle
        set(.now() + idleTimeout)
    }

    /// Stops every deadline (the connection is closing).
    func cancel() {
        deadline = nil
        timer?.cancel()
        timer = nil
    }

    private func set(_ deadline: NIODeadline?) {
        self.deadline = deadline
        guard let deadline else { return }
        if let timerFiresAt, timerFiresAt <= deadline { return }
        schedule(at: deadline)
    }

    private func schedule(at time: NIODeadline) {
        timer?.cancel()
        timerFiresAt = time
        timer = channel.eventLoop.assumeIsolated().scheduleTask(deadline: time) { [self] in fire() }
    }

    private func fire() {
        timer = nil
        timerFiresAt = nil
        guard let deadline else { return }
        if deadline <= .now() {
            channel.close(promise: nil)
        } else {
            schedule(at: deadline)
        }
    }
}

/// Tells a connection's `ConnectionDeadline` that request bytes arrived; sits in front of the
/// HTTP/1.1 decoder.
final class RequestBytesObserver: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let deadline: ConnectionDeadline

    init(deadline: ConnectionDeadline) {
        self.deadline = deadline
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        deadline.bytesArrived()
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline.cancel()
        context.fireChannelInactive()
    }
}
