import LayoverWire
import Testing
@testable import LayoverStore

/// The store's bookkeeping keeps its totals as it goes and plans eviction from the recency list.
@Suite("Store state")
struct StoreStateTests {
    static func record(_ seed: UInt8, size: Int64, at time: Double) -> BlobRecord {
        BlobRecord(digest: Digest.sha256(of: [seed]), size: size, mediaType: nil, lastAccess: time)
    }

    static let repository = RepositoryKey(upstream: "up", repository: try! RepositoryName("team/app"))

    @Test("least recently used first; a touch moves a blob to the back")
    func recencyOrder() {
        let a = Self.record(1, size: 10, at: 1), b = Self.record(2, size: 10, at: 2), c = Self.record(3, size: 10, at: 3)
        var state = StoreState(records: [a, b, c])
        #expect(state.victims(excess: 15, sparing: nil).map(\.digest) == [a.digest, b.digest])
        state.touch(a.digest, at: 4)
        #expect(state.victims(excess: 15, sparing: nil).map(\.digest) == [b.digest, c.digest])
        #expect(state.victims(excess: 15, sparing: b.digest).map(\.digest) == [c.digest, a.digest])
        _ = state.acquire(c.digest, at: 5)
        #expect(state.victims(excess: 15, sparing: nil).map(\.digest) == [b.digest, a.digest], "a leased blob is passed over")
    }

    @Test("pins and holds keep running totals of protected bytes, shared digests counted once")
    func protectedBytes() {
        let a = Self.record(1, size: 100, at: 1), b = Self.record(2, size: 30, at: 2)
        var state = StoreState(records: [a, b])
        state.pin(.job(1), [a.digest, b.digest])
        state.pin(.job(2), [a.digest])
        #expect(state.protectedBytes == 130)
        #expect(state.victims(excess: 1000, sparing: nil).isEmpty)
        state.unpin(.job(1))
        #expect(state.protectedBytes == 100)
        state.hold(HoldKey(repository: Self.repository, digest: b.digest), until: 50)
        #expect(state.protectedBytes == 130)
        state.unpin(.job(2))
        #expect(state.protectedBytes == 30)
        #expect(state.victims(excess: 1000, sparing: nil).map(\.digest) == [a.digest])
        state.expireHolds(now: 49)
        #expect(state.protectedBytes == 30)
        state.expireHolds(now: 50)
        #expect(state.protectedBytes == 0)
        #expect(Set(state.victims(excess: 1000, sparing: nil).map(\.digest)) == [a.digest, b.digest])
    }

    @Test("an extended hold does not end at its first expiry; a released one ends at once")
    func holdLifetimes() {
        let a = Self.record(1, size: 10, at: 1)
        var state = StoreState(records: [a])
        let key = HoldKey(repository: Self.repository, digest: a.digest)
        state.hold(key, until: 10)
        state.hold(key, until: 20)
        state.expireHolds(now: 15)
        #expect(state.isHeld(key))
        state.releaseHold(key)
        #expect(!state.isHeld(key))
        #expect(state.protectedBytes == 0)
    }

    @Test("a blob removed and stored again keeps its protection accounting right")
    func removeAndAdd() {
        let a = Self.record(1, size: 10, at: 1)
        var state = StoreState(records: [a])
        state.pin(.job(1), [a.digest])
        state.remove(a.digest)
        #expect(state.protectedBytes == 0)
        state.add(a)
        #expect(state.protectedBytes == 10)
        #expect(state.victims(excess: 100, sparing: nil).isEmpty)
        state.unpin(.job(1))
        #expect(state.victims(excess: 100, sparing: nil).map(\.digest) == [a.digest])
    }

    @Test("the repository-link cache stays bounded and keeps the link just learned")
    func linkCacheIsBounded() {
        var state = StoreState(records: [])
        for number in 0...StoreState.linkCacheLimit {
            state.rememberLink(.init(repository: Self.repository, digest: Digest.sha256(of: withUnsafeBytes(of: number) { Array($0) })))
        }
        let last = StoreState.LinkKey(repository: Self.repository, digest: Digest.sha256(of: withUnsafeBytes(of: StoreState.linkCacheLimit) { Array($0) }))
        #expect(state.links.count <= StoreState.linkCacheLimit)
        #expect(state.links.contains(last))
    }

    @Test("a blob's last access goes to the index at most once a persist interval; the order in memory is exact")
    func recencyPersistsAtMostOncePerInterval() {
        let a = Self.record(1, size: 10, at: 1), b = Self.record(2, size: 10, at: 2)
        let interval = StoreState.recencyPersistInterval
        var state = StoreState(records: [a, b])
        state.touch(a.digest, at: 100)
        #expect(state.dirtyRecency == [a.digest: 100])
        state.dirtyRecency = [:]
        state.touch(a.digest, at: 100 + interval / 2)
        #expect(state.dirtyRecency.isEmpty)
        #expect(state.records[a.digest]?.lastAccess == 100 + interval / 2)
        state.touch(b.digest, at: 100 + interval / 2)
        #expect(state.victims(excess: 10, sparing: nil).map(\.digest) == [a.digest])
        state.dirtyRecency = [:]
        state.touch(a.digest, at: 100 + interval)
        #expect(state.dirtyRecency == [a.digest: 100 + interval])
    }
}
