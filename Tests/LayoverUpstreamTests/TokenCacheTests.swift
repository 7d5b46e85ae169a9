import Testing
@testable import LayoverUpstream
import LayoverLocks

@Suite("TokenCache")
struct TokenCacheTests {
    /// Seconds since 1970, set by the test.
    final class Clock: Sendable {
        private let time = Locked<Double>(0)
        var now: Double {
            get { time.withLock { $0 } }
            set { time.withLock { $0 = newValue } }
        }
    }

    @Test func keepsATokenUntilTenSecondsBeforeItExpires() {
        let clock = Clock()
        let cache = TokenCache(clock: { clock.now })
        cache.store("t1", for: "scope", lifetime: 300)
        clock.now = 289.9
        #expect(cache.token(for: "scope") == "t1")
        clock.now = 290
        #expect(cache.token(for: "scope") == nil)
        clock.now = 0
        #expect(cache.token(for: "scope") == nil)  // dropped once expired
    }

    @Test func aShortLivedTokenIsKeptForHalfItsLife() {
        let clock = Clock()
        clock.now = 100
        let cache = TokenCache(clock: { clock.now })
        cache.store("short", for: "k", lifetime: 10)
        clock.now = 104.9
        #expect(cache.token(for: "k") == "short")
        clock.now = 105
        #expect(cache.token(for: "k") == nil)
    }

    @Test func tokensAreKeptPerKeyAndReplaced() {
        let clock = Clock()
        let cache = TokenCache(clock: { clock.now })
        #expect(cache.token(for: "a") == nil)
        cache.store("ta", for: "a", lifetime: 60)
        cache.store("tb", for: "b", lifetime: 60)
        cache.store("ta2", for: "a", lifetime: 60)
        #expect(cache.token(for: "a") == "ta2")
        #expect(cache.token(for: "b") == "tb")
    }
}
