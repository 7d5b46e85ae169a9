import NIOCore
import LayoverLocks

/// The server's open connections and how many requests each is answering, so a shutdown can
/// stop accepting, let answers in progress finish, and close each connection once it is idle.
///
/// An HTTP/1.1 connection answers one request at a time; an HTTP/2 connection one per stream,
/// and a shutdown asks it to quiesce (a `GOAWAY`; it closes once its streams are done).
final class ConnectionTracker: Sendable {
    private struct Connection {
        var channel: any Channel
        var requests = 0
        var http2 = false
    }

    private struct State {
        var connections: [ObjectIdentifier: Connection] = [:]
        /// Connections open beyond `maximum` (see `OverflowHandler`), with when each was opened.
        var overflowing: [ObjectIdentifier: (channel: any Channel, opened: NIODeadline)] = [:]
        var draining = false
    }

    private let state = Locked(State())
    /// Connections served in full at once; more are accepted only as overflow (see `opened`).
    let maximum: Int
    /// Connections open at once, overflow included: at this many the listener stops accepting
    /// (see `AcceptGate`), so that accepting never spends the process's last descriptors.
    let acceptLimit: Int

    init(maximum: Int = .max) {
        self.maximum = maximum
        let (limit, overflowed) = maximum.addingReportingOverflow(Self.overflowAllowance(maximum))
        self.acceptLimit = overflowed ? .max : limit
    }

    /// Connections accepted beyond `maximum` for a probe or a `503`: a sixteenth of it, at
    /// least 8, at most 256. Under the default `maximum` (the descriptor limit less a reserve
    /// of an eighth, at least 64) that is at most half of the reserve; the other half stays
    /// for the store, the index, upstream connections and the runtime (libdispatch's worker
    /// monitor opens a `/proc` file every second and traps when it cannot).
    static func overflowAllowance(_ maximum: Int) -> Int {
        min(256, max(8, maximum / 16))
    }

    /// True once a shutdown began: HTTP/1.1 answers go out with `Connection: close`.
    var isDraining: Bool { state.withLock { $0.draining } }

    /// Connections answering at least one request now.
    var busyCount: Int { state.withLock { $0.connections.values.count { $0.requests > 0 } } }

    /// What a new connection gets.
    enum Admission {
        /// Served in full.
        case served
        /// Beyond `maximum`: only `/healthz`, then closed (see `OverflowHandler`).
        case overflow
        /// A shutdown is under way: closed at once.
        case refused
    }

    /// A new connection; forgotten when it closes.
    func opened(_ channel: any Channel) -> Admission {
        let id = ObjectIdentifier(channel)
        let admission = state.withLock { state -> Admission in
            if state.draining { return .refused }
            guard state.connections.count < maximum else {
                state.overflowing[id] = (channel, channel.eventLoop.now)
                return .overflow
            }
            state.connections[id] = Connection(channel: channel)
            return .served
        }
        switch admission {
        case .refused:
            channel.close(promise: nil)
        case .served:
            channel.closeFuture.whenComplete { [self] _ in
                state.withLock { _ = $0.connections.removeValue(forKey: id) }
            }
        case .overflow:
            channel.closeFuture.whenComplete { [self] _ in
                state.withLock { _ = $0.overflowing.removeValue(forKey: id) }
            }
        }
        return admission
    }

    /// Closes the overflow connections opened before `deadline`, to make room for clients
    /// waiting to be accepted (a probe answered in time is gone by then).
    func closeOverflow(openedBefore deadline: NIODeadline) {
        let stale = state.withLock { $0.overflowing.values.filter { $0.opened < deadline }.map(\.channel) }
        for channel in stale { channel.close(promise: nil) }
    }

    /// `connection` speaks HTTP/2: a shutdown quiesces it instead of closing it.
    func speaksHTTP2(_ connection: any Channel) {
        state.withLock { $0.connections[ObjectIdentifier(connection)]?.http2 = true }
    }

    /// `connection` (the TCP connection, also for a request on an HTTP/2 stream) started answering a request.
    func began(_ connection: any Channel) {
        state.withLock { $0.connections[ObjectIdentifier(connection)]?.requests += 1 }
    }

    /// `connection` wrote the end of an answer; during a shutdown an HTTP/1.1 connection is closed now.
    func ended(_ connection: any Channel) {
        let close = state.withLock { state in
            let id = ObjectIdentifier(connection)
            state.connections[id]?.requests -= 1
            return state.draining && state.connections[id]?.http2 == false
        }
        if close { connection.close(promise: nil) }
    }

    /// Starts a shutdown: closes every idle HTTP/1.1 connection (busy ones close when their answer
    /// ends) and asks every HTTP/2 connection to quiesce.
    func beginDraining() {
        let (idle, multiplexed) = state.withLock { state in
            state.draining = true
            let open = state.connections.values
            return (open.filter { !$0.http2 && $0.requests == 0 }.map(\.channel), open.filter(\.http2).map(\.channel))
        }
        for channel in idle { channel.close(promise: nil) }
        for channel in multiplexed {
            channel.eventLoop.execute { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        }
    }

    /// Closes every connection still open, busy or not.
    func closeAll() {
        let all = state.withLock { $0.connections.values.map(\.channel) }
        for channel in all { channel.close(promise: nil) }
    }
}
