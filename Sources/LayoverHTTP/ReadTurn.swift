import LayoverLocks

/// Reads of one stream taken in turn: a reader that arrives while another's read is under way
/// waits for it to end, then reads on from where it left.
///
/// A request body can have two readers at once: a forward's body task (the HTTP client iterates
/// the body in a task of its own, which outlives a failed or early-answered request) and the
/// connection draining what is left before it answers. The sequence beneath allows one pending
/// read at a time and traps on a second.
final class ReadTurn: Sendable {
    private struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Locked(State())

    /// Runs `read` once no other read is under way.
    func take<Result>(_ read: () async throws -> Result) async throws -> Result {
        await enter()
        defer { leave() }
        return try await read()
    }

    private func enter() async {
        let entered = state.withLock { state in
            if state.busy { return false }
            state.busy = true
            return true
        }
        if entered { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let enteredNow = state.withLock { state in
                if state.busy {
                    state.waiting.append(continuation)
                    return false
                }
                state.busy = true
                return true
            }
            if enteredNow { continuation.resume() }
        }
    }

    /// Hands the turn to the first waiting reader, if any (the turn stays taken).
    private func leave() {
        let next = state.withLock { state in
            if state.waiting.isEmpty {
                state.busy = false
                return nil as CheckedContinuation<Void, Never>?
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
