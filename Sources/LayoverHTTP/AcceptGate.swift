import NIOCore

/// On the listening channel: counts the connections it accepted that are still open and holds
/// accepting while they reach the tracker's `acceptLimit`, resuming when one closes; further
/// clients wait in the listen backlog. A process that accepted until `EMFILE` would have no descriptor left for its
/// store, its index or the runtime (libdispatch's worker monitor traps when it cannot open a
/// `/proc` file). NIO accepts up to `maxMessagesPerRead` connections per read, so the limit may
/// be passed by that many less one.
///
/// While accepting is held, overflow connections (beyond the tracker's `maximum`, answered only
/// `/healthz` or `503`) older than `overflowTurn` are closed every `overflowTurn`, so that clients
/// waiting in the backlog, a liveness probe among them, get their turn within a few of them.
///
/// Used on the listening channel's event loop only.
final class AcceptGate: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = any Channel
    typealias OutboundIn = Never

    private let connections: ConnectionTracker
    private var open = 0
    /// A read (an accept) was asked for while at the limit.
    private var held = false
    private var sweep: Scheduled<Void>?

    /// How long an overflow connection may stay while clients wait to be accepted.
    static let overflowTurn = TimeAmount.milliseconds(250)

    init(connections: ConnectionTracker) {
        self.connections = connections
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let accepted = unwrapInboundIn(data)
        open += 1
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        accepted.closeFuture.hop(to: context.eventLoop).whenComplete { _ in
            loopBound.value.0.closed(context: loopBound.value.1)
        }
        context.fireChannelRead(data)
    }

    func read(context: ChannelHandlerContext) {
        guard open >= connections.acceptLimit else {
            context.read()
            return
        }
        held = true
        scheduleSweep(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        sweep?.cancel()
    }

    /// An accepted connection closed: a held accept goes out.
    private func closed(context: ChannelHandlerContext) {
        open -= 1
        guard held, open < connections.acceptLimit else { return }
        held = false
        sweep?.cancel()
        sweep = nil
        context.read()
    }

    private func scheduleSweep(context: ChannelHandlerContext) {
        guard sweep == nil else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        sweep = context.eventLoop.scheduleTask(in: Self.overflowTurn) {
            let (gate, context) = loopBound.value
            gate.sweep = nil
            guard gate.held else { return }
            gate.connections.closeOverflow(openedBefore: context.eventLoop.now - Self.overflowTurn)
            gate.scheduleSweep(context: context)
        }
    }
}
