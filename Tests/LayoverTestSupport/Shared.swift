import LayoverLocks

/// A value behind a lock, shareable by reference with escaping closures.
public final class Shared<Value: Sendable>: Sendable {
    private let mutex: Locked<Value>
    public init(_ value: Value) { mutex = Locked(value) }
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try mutex.withLock { try body(&$0) }
    }
}
