import Foundation
import LayoverLocks

/// What this node last saw of each peer: reached, or failing since a moment. Fed by peer fills and
/// forwards, read by the status page, so any node shows a member that is down.
///
/// Thread safety: one lock around the map.
public final class MemberHealth: Sendable {
    private let failingSince = Locked<[Member: Double]>([:])
    private let clock: @Sendable () -> Double

    /// - Parameter clock: seconds since 1970; injected for tests.
    public init(clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.clock = clock
    }

    /// `member` answered (whatever the status): it is up.
    public func reached(_ member: Member) {
        failingSince.withLock { $0[member] = nil }
    }

    /// `member` could not be reached or did not answer in time; the first failure in a row is kept.
    public func failed(_ member: Member) {
        let now = clock()
        failingSince.withLock { if $0[member] == nil { $0[member] = now } }
    }

    /// Seconds `member` has been failing, when its last contact failed.
    public func failingFor(_ member: Member) -> Double? {
        failingSince.withLock { $0[member] }.map { max(0, clock() - $0) }
    }
}
