import Foundation
import LayoverLocks

/// How an upstream has been answering lately, for the admin status: a `5xx`, a `429` or no
/// answer at all counts as a failure; any other answer as a success.
public final class UpstreamHealth: Sendable {
    /// What is known at one moment.
    public struct Snapshot: Sendable, Codable, Equatable {
        public var requests: Int = 0
        public var failures: Int = 0
        public var throttled: Int = 0
        /// Failures since the last success: above zero means the upstream is failing now.
        public var consecutiveFailures: Int = 0
        public var lastSuccessAt: Double?
        public var lastFailureAt: Double?
        public var lastError: String?
    }

    private let state = Locked(Snapshot())

    init() {}

    /// The counts so far.
    public var snapshot: Snapshot { state.withLock { $0 } }

    func record(status: Int?, error: String? = nil, at time: Double = Date().timeIntervalSince1970) {
        state.withLock { health in
            health.requests += 1
            let failed = status == nil || status == 429 || (status ?? 0) >= 500
            if status == 429 { health.throttled += 1 }
            if failed {
                health.failures += 1
                health.consecutiveFailures += 1
                health.lastFailureAt = time
                health.lastError = error ?? status.map { "answered \($0)" }
            } else {
                health.consecutiveFailures = 0
                health.lastSuccessAt = time
            }
        }
    }
}
