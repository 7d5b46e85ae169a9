import Foundation
import LayoverStore
import LayoverLocks

/// The open upload sessions by id, and how many each client holds. Idle sessions are expired by
/// `sweep` and their bytes freed.
final class UploadRegistry: Sendable {
    private struct State {
        var sessions: [String: UploadSession] = [:]
        var perClient: [String: Int] = [:]

        mutating func remove(_ id: String) -> UploadSession? {
            guard let session = sessions.removeValue(forKey: id) else { return nil }
            if let client = session.client {
                let left = (perClient[client] ?? 1) - 1
                perClient[client] = left > 0 ? left : nil
            }
            return session
        }
    }

    private let state = Locked(State())

    /// Adds `session` unless `maximum` sessions are open, or `perClient` of its client's.
    func admit(_ session: UploadSession, maximum: Int, perClient: Int) throws(PushError) {
        try state.withLock { state throws(PushError) in
            guard state.sessions.count < maximum else { throw .tooManyUploads(maximum) }
            if let client = session.client {
                let held = state.perClient[client] ?? 0
                guard held < perClient else { throw .tooManyClientUploads(perClient) }
                state.perClient[client] = held + 1
            }
            state.sessions[session.id] = session
        }
    }

    /// The session `id` if it is open and belongs to `repository`.
    func session(_ id: String, in repository: RepositoryKey) -> UploadSession? {
        state.withLock { $0.sessions[id] }.flatMap { $0.repository == repository ? $0 : nil }
    }

    /// Sessions open now.
    var count: Int { state.withLock { $0.sessions.count } }

    /// Sessions `client` holds now.
    func count(of client: String) -> Int { state.withLock { $0.perClient[client] ?? 0 } }

    func remove(_ id: String) {
        _ = state.withLock { $0.remove(id) }
    }

    /// Cancels sessions idle for longer than `timeout` seconds; returns how many.
    func sweep(now: Double, timeout: Double) -> Int {
        let expired = state.withLock { state in
            let expired = state.sessions.values.filter { $0.isExpired(now: now, timeout: timeout) }
            for session in expired { _ = state.remove(session.id) }
            return expired
        }
        for session in expired { session.cancel() }
        return expired.count
    }
}
