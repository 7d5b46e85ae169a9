import NIOCore
import Synchronization

/// The server's open connections and which of them are answering a request, so a shutdown can
/// stop accepting, let answers in progress finish, and close each connection once it is idle.
final class ConnectionTracker: Sendable {
    private struct Connection {
        var channel: any Channel
        var busy = false
    }

    private struct State {
        var connections: [ObjectIdentifier: Connection] = [:]
        var draining = false
    }

    private let state = Mutex(State())
    /// Connections served in full at once; more are accepted only as overflow (see `opened`).
    let maximum: Int

    init(maximum: Int = .max) {
        self.maximum = maximum
    }


    /// True once a shutdown began: answers go out with `Connection: close`.
    var isDraining: Bool { state.withLock { $0.draining } }

    /// Connections answering a request now.
    var busyCount: Int { state.withLock { $0.connections.values.count(where: \.busy) } }

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
            guard state.connections.count < maximum else { return .overflow }
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
            break
        }
        return admission
    }

    /// `channel` started answering a request.
    func began(_ channel: any Channel) {
        state.withLock { $0.connections[ObjectIdentifier(channel)]?.busy = true }
    }

    /// `channel` wrote the end of its answer; during a shutdown it is closed now.
    func ended(_ channel: any Channel) {
        let draining = state.withLock { state in
            state.connections[ObjectIdentifier(channel)]?.busy = false
            return state.draining
        }
        if draining { channel.close(promise: nil) }
    }

    /// Starts a shutdown: closes every idle connection; busy ones close when their answer ends.
    func beginDraining() {
        let idle = state.withLock { state in
            state.draining = true
            return state.connections.values.filter { !$0.busy }.map(\.channel)
        }
        for channel in idle { channel.close(promise: nil) }
    }

    /// Closes every connection still open, busy or not.
    func closeAll() {
        let all = state.withLock { $0.connections.values.map(\.channel) }
        for channel in all { channel.close(promise: nil) }
    }
}
