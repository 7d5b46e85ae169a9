import NIOCore
import LayoverLocks

/// Cancels a transfer that stops making progress: armed with `start`, fed with `progressed`,
/// it fires once when no progress was seen for `timeout`, however long the transfer as a whole.
///
/// Thread safety: every method may be called from any thread.
final class StallWatchdog: Sendable {
    private let timeout: TimeAmount
    private let eventLoop: any EventLoop
    private let state = Locked<State>(State())

    private struct State {
        var lastProgress = NIODeadline.now()
        var task: RepeatedTask?
        var fired = false
    }

    init(timeout: TimeAmount, eventLoop: any EventLoop) {
        self.timeout = timeout
        self.eventLoop = eventLoop
    }

    /// Starts watching; `cancel` runs (once) when the transfer stalls.
    func start(cancel: @escaping @Sendable () -> Void) {
        let interval = max(TimeAmount.milliseconds(50), TimeAmount.nanoseconds(timeout.nanoseconds / 4))
        let task = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] task in
            guard let self else { return task.cancel() }
            let stalled = state.withLock { state -> Bool in
                guard !state.fired, NIODeadline.now() - state.lastProgress >= timeout else { return false }
                state.fired = true
                return true
            }
            if stalled {
                task.cancel()
                cancel()
            }
        }
        state.withLock { state in
            state.lastProgress = .now()
            state.task = task
        }
    }

    /// Records that bytes moved.
    func progressed() {
        state.withLock { $0.lastProgress = .now() }
    }

    /// Stops watching.
    func stop() {
        state.withLock { $0.task }?.cancel()
    }

    /// Whether the watchdog cancelled the transfer.
    var fired: Bool { state.withLock { $0.fired } }
}
