import Testing
@testable import LayoverUpstream

@Suite("RetryPolicy")
struct RetryPolicyTests {
    @Test func defaults() {
        let policy = RetryPolicy()
        #expect(policy.attempts == 3)
        #expect(policy.initialBackoff == .milliseconds(200))
        #expect(policy.maximumRetryAfter == 5)
    }

    @Test("backoff doubles per attempt within ±25% jitter", arguments: [
        (1, Duration.milliseconds(200)),
        (2, .milliseconds(400)),
        (3, .milliseconds(800)),
        (4, .milliseconds(1_600)),
        (11, .milliseconds(204_800)),
        (12, .milliseconds(204_800)),
        (40, .milliseconds(204_800)),
    ])
    func backoff(_ attempt: Int, _ base: Duration) {
        let policy = RetryPolicy()
        for _ in 0..<200 {
            let wait = policy.backoff(attempt: attempt)
            #expect(wait >= base * 0.75)
            #expect(wait <= base * 1.25)
        }
    }

    @Test func backoffScalesWithTheInitialWait() {
        let policy = RetryPolicy(attempts: 5, initialBackoff: .seconds(1), maximumRetryAfter: 30)
        #expect(policy.attempts == 5)
        #expect(policy.maximumRetryAfter == 30)
        for _ in 0..<200 {
            let wait = policy.backoff(attempt: 2)
            #expect(wait >= .milliseconds(1_500))
            #expect(wait <= .milliseconds(2_500))
        }
    }

    @Test func backoffIsJittered() {
        let policy = RetryPolicy()
        let waits = Set((0..<50).map { _ in policy.backoff(attempt: 1) })
        #expect(waits.count > 1)
    }

    @Test func aZeroInitialBackoffNeverWaits() {
        let policy = RetryPolicy(initialBackoff: .zero)
        #expect(policy.backoff(attempt: 1) == .zero)
        #expect(policy.backoff(attempt: 5) == .zero)
    }
}
