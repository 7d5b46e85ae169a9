import Foundation

/// Runs blocking code (raw sockets, sleeps) on a thread of its own, so it never holds one of
/// Swift concurrency's few threads: on a 2-core machine a blocked pool starves every other test.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}
