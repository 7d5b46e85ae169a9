import LayoverLocks


/// Runs at most one operation per key at a time; callers that arrive while it runs share its
/// result. Once it finishes, the next call starts afresh (nothing is cached).
///
/// The operation runs in its own task: a caller that is cancelled does not cancel it for the others.
public final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let running = Locked<[Key: Task<Value, any Error>]>([:])

    public init() {}

    /// The result of `operation` for `key`, shared with every concurrent caller for the same key.
    public func run(_ key: Key, _ operation: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let task: Task<Value, any Error> = running.withLock { running in
            if let task = running[key] { return task }
            let task = Task<Value, any Error> { try await operation() }
            running[key] = task
            return task
        }
        defer { running.withLock { running in if running[key] == task { running[key] = nil } } }
        return try await task.value
    }

    /// Keys with an operation in flight.
    public var inFlightCount: Int { running.withLock { $0.count } }
}
