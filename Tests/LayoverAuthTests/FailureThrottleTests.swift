import Testing
@testable import LayoverAuth

@Suite("FailureThrottle")
struct FailureThrottleTests {
    @Test func freeFailuresThenGrowingCappedDelays() {
        let clock = TestClock()
        let throttle = FailureThrottle(freeFailures: 5, window: .seconds(60), baseDelay: .milliseconds(500),
                                       maxDelay: .seconds(10), now: clock.now)
        var delays: [Duration] = []
        for _ in 0..<12 {
            delays.append(throttle.delay(for: "10.0.0.1"))
            throttle.recordFailure(from: "10.0.0.1")
            clock.advance(.seconds(1))
        }
        #expect(delays == [.zero, .zero, .zero, .zero, .zero, .milliseconds(500), .seconds(1), .seconds(2), .seconds(4),
                           .seconds(8), .seconds(10), .seconds(10)])
        #expect(throttle.delay(for: "10.0.0.2") == .zero)
    }

    @Test func aQuietMinuteStartsAfresh() {
        let clock = TestClock()
        let throttle = FailureThrottle(now: clock.now)
        for _ in 0..<8 { throttle.recordFailure(from: "a") }
        #expect(throttle.delay(for: "a") > .zero)
        clock.advance(.seconds(61))
        #expect(throttle.delay(for: "a") == .zero)
        throttle.recordFailure(from: "a")
        #expect(throttle.delay(for: "a") == .zero)
    }

    @Test func memoryIsBounded() {
        let clock = TestClock()
        let throttle = FailureThrottle(capacity: 100, now: clock.now)
        for index in 0..<10_000 {
            throttle.recordFailure(from: "10.0.\(index / 256).\(index % 256)")
            if index % 50 == 0 { clock.advance(.milliseconds(1)) }
        }
        #expect(throttle.trackedAddresses <= 100)
        // The newest address is still tracked.
        for _ in 0..<6 { throttle.recordFailure(from: "10.0.39.15") }
        #expect(throttle.delay(for: "10.0.39.15") > .zero)
    }
}
