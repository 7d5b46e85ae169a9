import Testing
@testable import LayoverAuth

@Suite("CredentialCache")
struct CredentialCacheTests {
    let alice = Principal(name: "alice", kind: .user)

    @Test func remembersUntilItExpires() {
        let clock = TestClock()
        let cache = CredentialCache(capacity: 10, lifetime: .seconds(300), now: clock.now)
        let key = CredentialCache.key("Basic YWxpY2U6c2VjcmV0")
        #expect(cache.principal(for: key) == nil)
        cache.insert(alice, for: key)
        #expect(cache.principal(for: key) == alice)
        #expect(cache.principal(for: CredentialCache.key("Basic YWxpY2U6c2VjcmV1")) == nil)
        clock.advance(.seconds(299))
        #expect(cache.principal(for: key) == alice)
        clock.advance(.seconds(2))
        #expect(cache.principal(for: key) == nil)
        #expect(cache.count == 0)
    }

    @Test func boundedOldestFirst() {
        let cache = CredentialCache(capacity: 3, lifetime: .seconds(300), now: TestClock().now)
        for index in 0..<5 { cache.insert(alice, for: CredentialCache.key("h\(index)")) }
        #expect(cache.count == 3)
        #expect(cache.principal(for: CredentialCache.key("h0")) == nil)
        #expect(cache.principal(for: CredentialCache.key("h1")) == nil)
        #expect(cache.principal(for: CredentialCache.key("h4")) == alice)
        // Inserting a key again moves it to the back: its older place does not evict it.
        cache.insert(alice, for: CredentialCache.key("h2"))
        cache.insert(alice, for: CredentialCache.key("h5"))
        cache.insert(alice, for: CredentialCache.key("h6"))
        #expect(cache.principal(for: CredentialCache.key("h2")) == alice)
        #expect(cache.count == 3)
    }

    @Test func manyReinsertionsKeepTheQueueBounded() {
        let cache = CredentialCache(capacity: 2, lifetime: .seconds(300), now: TestClock().now)
        for _ in 0..<1000 { cache.insert(alice, for: CredentialCache.key("same")) }
        #expect(cache.count == 1)
        #expect(cache.principal(for: CredentialCache.key("same")) == alice)
    }

    @Test func removeAllForgets() {
        let cache = CredentialCache(now: TestClock().now)
        cache.insert(alice, for: CredentialCache.key("x"))
        cache.removeAll()
        #expect(cache.principal(for: CredentialCache.key("x")) == nil)
    }
}
