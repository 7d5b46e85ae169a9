/// Keeps a scrub to a byte rate: after each piece read, how long to wait before the next.
///
/// A scrub that fell behind (the disk or the CPU was busy) catches up by at most one second's
/// worth of bytes, so a stall is never followed by a burst at full speed. A pure value: tests
/// give it the instants.
struct ScrubPacer: Sendable {
    /// The rate to keep; 0 or less: no waiting at all.
    let bytesPerSecond: Int64
    /// When the next piece may be read.
    private var next: ContinuousClock.Instant?

    init(bytesPerSecond: Int64) {
        self.bytesPerSecond = bytesPerSecond
    }

    /// Counts `bytes` just read at `now`; returns how long to wait before reading on.
    mutating func delay(after bytes: Int, at now: ContinuousClock.Instant) -> Duration {
        guard bytesPerSecond > 0 else { return .zero }
        let earliest = now - .seconds(1)
        let start = max(next ?? now, earliest)
        let due = start + .nanoseconds(Int64(Double(bytes) / Double(bytesPerSecond) * 1e9))
        next = due
        return due > now ? due - now : .zero
    }
}
