#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a lock: `withLock` gives the caller the value alone, for a short step that
/// neither blocks nor awaits.
///
/// Why not `Synchronization.Mutex`: on Linux a contended `Mutex` is handed over in the kernel (a
/// priority-inheritance futex) that ThreadSanitizer does not see, so it reports the accesses such
/// a lock protects as races, by the dozen in any contended test. This lock is a pthread mutex,
/// which ThreadSanitizer follows, so what it reports is real. Uncontended, both cost one atomic
/// exchange each way.
public final class Locked<Value>: @unchecked Sendable {
    @usableFromInline var value: Value
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, under the lock.
    @inlinable
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        return try body(&value)
    }

    @usableFromInline
    func lock() { pthread_mutex_lock(mutex) }

    @usableFromInline
    func unlock() { pthread_mutex_unlock(mutex) }
}
