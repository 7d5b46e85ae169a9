import Testing
@testable import LayoverUpstream

@Suite("UpstreamError")
struct UpstreamErrorTests {
    @Test("only an unreachable or rate-limiting upstream allows a stale answer", arguments: [
        (UpstreamError.unavailable("down"), true),
        (.rateLimited(retryAfter: 10), true),
        (.rateLimited(retryAfter: nil), true),
        (.notFound, false),
        (.unauthorized("no"), false),
        (.protocolViolation("odd"), false),
        (.tooLarge(10), false),
    ])
    func allowsStaleAnswer(_ error: UpstreamError, _ expected: Bool) {
        #expect(error.allowsStaleAnswer == expected)
    }
}
