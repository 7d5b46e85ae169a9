import LayoverWire

/// Why a store operation failed.
public enum StoreError: Error, Equatable, Sendable {
    /// The content's digest is not what was expected; nothing was kept.
    case digestMismatch(expected: Digest, actual: Digest)
    /// The content's length is not what was expected; nothing was kept.
    case sizeMismatch(expected: Int64, actual: Int64)
    /// The disk has no room left for the content; nothing was kept.
    case diskFull
    /// A system call failed.
    case io(operation: String, errno: Int32)
    /// The index could not be read or written.
    case index(String)
    /// Another process (a running server, a `verify`) has the store open.
    case locked(String)
    /// The store is being closed (the process is stopping); nothing was kept.
    case closed
}
