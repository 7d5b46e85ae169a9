import LayoverWire
import Testing
@testable import LayoverStore

/// Orphans lead the recency list, oldest orphaned first, and keep a running total of their bytes.
@Suite("Orphan state")
struct OrphanStateTests {
    static func record(_ seed: UInt8, size: Int64 = 10, at time: Double) -> BlobRecord {
        StoreStateTests.record(seed, size: size, at: time)
    }

    @Test("orphans are victims first, in the order they were orphaned, then least recently used")
    func orphansFirst() {
        let a = Self.record(1, at: 1), b = Self.record(2, at: 2), c = Self.record(3, at: 3), d = Self.record(4, at: 4)
        var state = StoreState(records: [a, b, c, d])
        state.setOrphans([d.digest], true)
        state.setOrphans([c.digest], true)
        #expect(state.orphanedBytes == 20)
        #expect(state.victims(excess: 40, sparing: nil).map(\.digest) == [d.digest, c.digest, a.digest, b.digest])
        state.touch(d.digest, at: 9)
        #expect(state.victims(excess: 40, sparing: nil).map(\.digest) == [d.digest, c.digest, a.digest, b.digest],
                "a read orphan stays an orphan")
        state.setOrphans([d.digest], false)
        #expect(state.victims(excess: 40, sparing: nil).map(\.digest) == [c.digest, a.digest, b.digest, d.digest],
                "no longer an orphan: most recently used")
        state.remove(c.digest)
        #expect(state.orphanedBytes == 0)
        state.setOrphans([b.digest], true)
        #expect(state.victims(excess: 40, sparing: nil).map(\.digest) == [b.digest, a.digest, d.digest])
    }

    @Test("a pinned orphan is never a victim, and rejoins the orphans when unpinned")
    func pinnedOrphan() {
        let a = Self.record(1, at: 1), b = Self.record(2, at: 2), c = Self.record(3, at: 3)
        var state = StoreState(records: [a, b, c])
        state.pin(.job(7), [c.digest])
        state.setOrphans([b.digest, c.digest], true)
        #expect(state.orphanedBytes == 20)
        #expect(state.victims(excess: 100, sparing: nil).map(\.digest) == [b.digest, a.digest])
        state.unpin(.job(7))
        #expect(state.victims(excess: 100, sparing: nil).map(\.digest) == [b.digest, c.digest, a.digest])
    }
}
