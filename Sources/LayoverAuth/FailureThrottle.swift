import LayoverLocks


/// Slows down guessing: once an address has failed `freeFailures` times with no more than
/// `window` between failures, each further attempt from it waits `baseDelay`, doubling with
/// every failure, up to `maxDelay`. An address that has not failed for `window` starts afresh.
/// At most `capacity` addresses are tracked (the stalest dropped first), so memory stays bounded
/// whatever the number of addresses. Thread-safe; the clock is injected.
public final class FailureThrottle: Sendable {
    private struct Record {
        var failures: Int
        var last: ContinuousClock.Instant
    }

    public let freeFailures: Int
    public let window: Duration
    public let baseDelay: Duration
    public let maxDelay: Duration
    public let capacity: Int
    private let now: @Sendable () -> ContinuousClock.Instant
    private let records = Locked([String: Record]())

    public init(freeFailures: Int = 5, window: Duration = .seconds(60), baseDelay: Duration = .milliseconds(500),
                maxDelay: Duration = .seconds(10), capacity: Int = 10_000,
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.freeFailures = freeFailures
        self.window = window
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.capacity = max(1, capacity)
        self.now = now
    }

    /// How long an attempt from `address` must wait before it is checked (zero for most).
    public func delay(for address: String) -> Duration {
        let now = self.now()
        let failures = records.withLock { records -> Int in
            guard let record = records[address] else { return 0 }
            guard now - record.last <= window else {
                records[address] = nil
                return 0
            }
            return record.failures
        }
        guard failures >= freeFailures else { return .zero }
        let doublings = min(failures - freeFailures, 30)
        let delay = baseDelay * (1 << doublings)
        return min(delay, maxDelay)
    }

    /// Counts a failed attempt from `address`.
    public func recordFailure(from address: String) {
        let now = self.now()
        records.withLock { records in
            var record = records[address] ?? Record(failures: 0, last: now)
            if now - record.last > window { record.failures = 0 }
            record.failures += 1
            record.last = now
            if records[address] == nil, records.count >= capacity { Self.makeRoom(&records, now: now, window: window) }
            records[address] = record
        }
    }

    /// Addresses tracked now.
    public var trackedAddresses: Int { records.withLock { $0.count } }

    /// Drops every record past the window; if none is, the stalest one.
    private static func makeRoom(_ records: inout [String: Record], now: ContinuousClock.Instant, window: Duration) {
        let before = records.count
        records = records.filter { now - $0.value.last <= window }
        if records.count == before, let stalest = records.min(by: { $0.value.last < $1.value.last }) {
            records[stalest.key] = nil
        }
    }
}
