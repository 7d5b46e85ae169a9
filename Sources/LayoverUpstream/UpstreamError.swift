/// Why an upstream request failed, by what the caller should do about it.
public enum UpstreamError: Error, Equatable, Sendable {
    /// The upstream says the thing does not exist (404).
    case notFound
    /// The upstream refused our credentials (or anonymous access).
    case unauthorized(String)
    /// The upstream is rate limiting us; `retryAfter` seconds when it said.
    case rateLimited(retryAfter: Int?)
    /// The upstream could not be reached or answered 5xx; a cached answer may be served instead.
    case unavailable(String)
    /// The upstream answered something a registry should not.
    case protocolViolation(String)
    /// The upstream's answer is larger than allowed.
    case tooLarge(Int64)
    /// The upstream understood a push and refused it (403, 404, 405, 413, …): trying the same
    /// again will not help until an operator changes something.
    case refused(status: Int, detail: String)

    /// Whether serving stale content is the right answer to this failure.
    public var allowsStaleAnswer: Bool {
        switch self {
        case .unavailable, .rateLimited: true
        default: false
        }
    }
}
