import Foundation
import LayoverLocks

/// Whether an upstream is worth asking: after `threshold` consecutive failures to get an answer
/// from it (no connection, no answer, or `502`/`503`/`504`), it is marked down and calls fail at once, so
/// that a client waits milliseconds instead of a connect timeout per request. One background
/// probe per `probeInterval` (run by the owner, see `RegistryClient`) marks it up again.
public final class CircuitBreaker: Sendable {
    /// What is known at one moment, for the status page and the metrics.
    public struct Snapshot: Sendable, Codable, Equatable {
        /// `closed` (requests go out) or `open` (the upstream is down; requests fail at once).
        public var state: String
        /// Since when it is down (seconds since 1970); nil while closed.
        public var downSince: Double?
        /// Failures since the last answer.
        public var consecutiveFailures: Int
        /// Why the last attempt failed.
        public var lastError: String?
    }

    private struct State {
        var failures = 0
        var downSince: Double?
        var lastError: String?
    }

    /// Consecutive failures that mark the upstream down.
    public let threshold: Int
    /// How often a down upstream is probed.
    public let probeInterval: Duration
    private let upstream: String
    private let clock: @Sendable () -> Double
    private let state = Locked(State())

    public init(upstream: String, threshold: Int = 3, probeInterval: Duration = .seconds(5),
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.upstream = upstream
        self.threshold = threshold
        self.probeInterval = probeInterval
        self.clock = clock
    }

    public var snapshot: Snapshot {
        state.withLock { state in
            Snapshot(state: state.downSince == nil ? "closed" : "open", downSince: state.downSince,
                     consecutiveFailures: state.failures, lastError: state.lastError)
        }
    }

    /// Whether the upstream is marked down.
    public var isOpen: Bool { state.withLock { $0.downSince != nil } }

    /// Throws at once while the upstream is marked down, with a message naming it and since when.
    func check() throws(UpstreamError) {
        guard let (since, error) = state.withLock({ state in state.downSince.map { ($0, state.lastError) } }) else { return }
        let when = Date(timeIntervalSince1970: since).formatted(.iso8601)
        throw .unavailable("upstream \(upstream) is down since \(when) (\(error ?? "no answer")); "
            + "Layover probes it every \(probeInterval.components.seconds) s")
    }

    /// The upstream answered: it is up.
    func succeeded() {
        state.withLock { state in
            state.failures = 0
            state.downSince = nil
        }
    }

    /// An attempt got no answer (or a `502`/`503`/`504`). Returns true when this failure marked the upstream
    /// down: the caller starts the probe.
    func failed(_ error: String) -> Bool {
        let now = clock()
        return state.withLock { state in
            state.failures += 1
            state.lastError = error
            guard state.downSince == nil, state.failures >= threshold else { return false }
            state.downSince = now
            return true
        }
    }
}
