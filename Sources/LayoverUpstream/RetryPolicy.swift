/// How often and how patiently idempotent upstream requests are retried.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var attempts: Int
    /// The wait before the second attempt; it doubles each time, with jitter.
    public var initialBackoff: Duration
    /// The longest `Retry-After` honoured by waiting; longer ones surface as rate limiting.
    public var maximumRetryAfter: Double

    public init(attempts: Int = 3, initialBackoff: Duration = .milliseconds(200), maximumRetryAfter: Double = 5) {
        self.attempts = attempts
        self.initialBackoff = initialBackoff
        self.maximumRetryAfter = maximumRetryAfter
    }

    /// The wait after failed attempt `attempt` (1-based): exponential, with ±25% jitter.
    public func backoff(attempt: Int) -> Duration {
        let base = initialBackoff * (1 << min(attempt - 1, 10))
        return base * Double.random(in: 0.75...1.25)
    }
}
