import Foundation
import LayoverStore
import Synchronization

/// The open upload sessions by id. Idle sessions are expired by `sweep` and their bytes freed.
final class UploadRegistry: Sendable {
    private let sessions = Mutex<[String: UploadSession]>([:])

    func add(_ session: UploadSession) {
        sessions.withLock { $0[session.id] = session }
    }

    /// The session `id` if it is open and belongs to `repository`.
    func session(_ id: String, in repository: RepositoryKey) -> UploadSession? {
        sessions.withLock { $0[id] }.flatMap { $0.repository == repository ? $0 : nil }
    }

    /// Sessions open now.
    var count: Int { sessions.withLock { $0.count } }

    func remove(_ id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// Cancels sessions idle for longer than `timeout` seconds; returns how many.
    func sweep(now: Double, timeout: Double) -> Int {
        let expired = sessions.withLock { sessions in
            let expired = sessions.values.filter { $0.isExpired(now: now, timeout: timeout) }
            for session in expired { sessions[session.id] = nil }
            return expired
        }
        for session in expired { session.cancel() }
        return expired.count
    }
}
