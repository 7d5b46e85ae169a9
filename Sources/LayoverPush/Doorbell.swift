import LayoverLocks


/// Wakes one waiting task: `ring` before `wait` is remembered, so no wake-up is lost.
final class Doorbell: Sendable {
    private struct State: Sendable {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Locked(State())

    /// Whether a task is waiting now.
    var hasWaiter: Bool { state.withLock { $0.waiter != nil } }

    func ring() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when rung, after `timeout` at the latest, or at once when the task is cancelled.
    func wait(timeout: Duration) async {
        await withTaskCancellationHandler {
            await waitUncancellable(timeout: timeout)
        } onCancel: {
            ring()
        }
    }

    private func waitUncancellable(timeout: Duration) async {
        let alarm = Task { [weak self] in
            // A cancelled alarm must not ring: that would wake the next wait at once.
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self?.ring()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state in
                if state.rung {
                    state.rung = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
        alarm.cancel()
    }
}
