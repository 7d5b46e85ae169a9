#if canImport(Glibc)
import Glibc
import LayoverLocks
#endif

/// An exclusive `flock` on the store's lock file, held while the store is open: a second server
/// or a `verify` on the same directory fails at once instead of corrupting the first one's state.
/// The kernel drops the lock when the process dies, so a crash never leaves it behind.
///
/// Opening waits up to `patience` for the lock: a restart may find the old process (or a child
/// process of anyone's, between its fork and exec, still holding a copy of the descriptor) a
/// moment from letting go.
final class StoreLock: Sendable {
    /// The locked file's descriptor; -1 once released.
    private let descriptor: Locked<Int32>

    init(path: String, patience: Duration = .seconds(2)) throws(StoreError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(operation: "open \(path)", errno: errno) }
        let deadline = ContinuousClock.now + patience
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                close(fd)
                throw .locked("\(path) is held by another process (a running layover serve?)")
            }
            usleep(20_000)
        }
        descriptor = Locked(fd)
    }

    /// Gives the lock up (closing the file drops it).
    func release() {
        descriptor.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    deinit {
        release()
    }
}
