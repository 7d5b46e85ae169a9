import Foundation
import LayoverConfig
import LayoverLocks

/// Bytes done out of a total, with rate and ETA, redrawn in place on a terminal (at most every
/// 0.2 s) and silent otherwise, so logs and pipes get only the final summary.
final class ProgressLine: Sendable {
    private struct State {
        var done: Int64 = 0
        var total: Int64
        var lastDrawn = ContinuousClock.now
    }

    private let verb: String
    private let state: Locked<State>
    private let started = ContinuousClock.now
    private let enabled = isatty(STDERR_FILENO) == 1

    init(verb: String, total: Int64) {
        self.verb = verb
        self.state = Locked(State(total: total))
    }

    /// Adds `bytes` to the total expected (a manifest listed more blobs).
    func expect(_ bytes: Int64) {
        state.withLock { $0.total += bytes }
    }

    /// Counts `bytes` done and redraws when due.
    func advance(_ bytes: Int) {
        let line: String? = state.withLock { state in
            state.done += Int64(bytes)
            let now = ContinuousClock.now
            guard enabled, now - state.lastDrawn > .milliseconds(200) else { return nil }
            state.lastDrawn = now
            return render(done: state.done, total: state.total)
        }
        if let line { FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8)) }
    }

    /// Seconds since the start.
    var elapsed: Double { (ContinuousClock.now - started) / .seconds(1) }

    /// Clears the line (on a terminal) before the summary is printed.
    func finish() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func render(done: Int64, total: Int64) -> String {
        let seconds = max(elapsed, 0.001)
        let rate = Double(done) / seconds
        let percent = total > 0 ? Int(Double(done) * 100 / Double(total)) : 100
        let eta = rate > 0 && total > done ? "ETA \(Int(Double(total - done) / rate))s" : ""
        return "\(verb) \(ByteSize.format(done)) / \(ByteSize.format(total)) (\(percent)%)  "
            + "\(ByteSize.format(Int64(rate)))/s  \(eta)"
    }
}
