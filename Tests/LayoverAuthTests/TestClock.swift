import LayoverLocks

/// A clock tests move by hand: no test sleeps for time to pass.
final class TestClock: Sendable {
    private let base = ContinuousClock.now
    private let offset = Locked(Duration.zero)

    var now: @Sendable () -> ContinuousClock.Instant {
        { [self] in base + offset.withLock { $0 } }
    }

    func advance(_ duration: Duration) {
        offset.withLock { $0 += duration }
    }
}
