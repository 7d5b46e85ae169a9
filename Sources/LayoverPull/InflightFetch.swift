import LayoverStore
import LayoverWire
#if canImport(Glibc)
import Glibc
import LayoverLocks
#endif

/// One upstream download shared by every request for its digest: drives a `FetchMachine` and
/// wakes the readers that stream from the growing ingest file.
///
/// Thread safety: all state is behind one mutex, never held across I/O or suspension.
final class InflightFetch: Sendable {
    let digest: Digest
    /// The repository the download goes through (the one the upstream GET names).
    let repository: RepositoryKey

    private struct State: Sendable {
        var machine = FetchMachine()
        var file: SharedDescriptor?
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// Waiting for the commit or the failure only (not woken by each append).
        var endWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Locked(State())

    init(digest: Digest, repository: RepositoryKey) {
        self.digest = digest
        self.repository = repository
    }

    /// The download has a body of `size` bytes (nil: unknown), being written to `file`.
    func started(size: Int64?, file: SharedDescriptor) {
        update { state in
            state.file = file
            state.machine.started(size: size)
            return true
        }
    }

    func appended(_ count: Int64) {
        update { $0.machine.appended(count) }
    }

    func committed() {
        update { state in
            state.machine.committed()
            return true
        }
    }

    func failed(_ failure: FetchMachine.Failure) {
        update { state in
            state.machine.failed(failure)
            return true
        }
    }

    /// The file readers `pread` from, and what the reader at `offset` may do now; suspends
    /// while there is nothing new.
    func nextAction(offset: Int64) async -> (FetchMachine.ReadAction, SharedDescriptor?) {
        while true {
            let current = state.withLock { ($0.machine.nextAction(offset: offset), $0.file) }
            if current.0 != .wait { return current }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.machine.nextAction(offset: offset) != .wait { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Waits until the upstream has answered: the size when known, or the failure.
    func waitForStart() async -> Result<Int64?, FetchMachine.Failure> {
        while true {
            let phase = state.withLock { $0.machine.phase }
            switch phase {
            case .failed(let failure): return .failure(failure)
            case .streaming(let size): return .success(size)
            case .committed(let size): return .success(size)
            case .connecting:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        if state.machine.hasStarted { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    /// Waits until the content is verified and committed, or the download has failed. For
    /// answers that must hold verified bytes only (a `Range`): the growing file is never read.
    func waitForEnd() async -> Result<Void, FetchMachine.Failure> {
        while true {
            switch phase {
            case .committed: return .success(())
            case .failed(let failure): return .failure(failure)
            case .connecting, .streaming:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state in
                        if state.machine.hasEnded { return true }
                        state.endWaiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    var phase: FetchMachine.Phase { state.withLock { $0.machine.phase } }

    private func update(_ body: (inout State) -> Bool) {
        let woken: [CheckedContinuation<Void, Never>] = state.withLock { state in
            guard body(&state) else { return [] }
            var woken = state.waiters
            state.waiters = []
            if state.machine.hasEnded {
                woken += state.endWaiters
                state.endWaiters = []
            }
            return woken
        }
        for waiter in woken { waiter.resume() }
    }
}

/// A read-only descriptor shared by every reader of one download; closed when the last user lets go.
/// `pread` takes explicit offsets, so concurrent readers never disturb each other.
final class SharedDescriptor: Sendable {
    let fd: Int32

    init?(path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    deinit { close(fd) }
}
