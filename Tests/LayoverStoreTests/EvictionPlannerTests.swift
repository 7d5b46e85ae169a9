import LayoverWire
import Testing
@testable import LayoverStore

@Suite("EvictionPlanner")
struct EvictionPlannerTests {
    static func record(_ seed: Character, size: Int64, at time: Double) -> BlobRecord {
        BlobRecord(digest: Digest(sha256Hex: String(repeating: seed, count: 64)), size: size, mediaType: nil, lastAccess: time)
    }

    let old = record("1", size: 100, at: 10)
    let middle = record("2", size: 100, at: 20)
    let recent = record("3", size: 100, at: 30)

    @Test func nothingIsEvictedAtOrBelowTheTarget() {
        #expect(EvictionPlanner.victims(of: [old, middle], usedBytes: 200, targetBytes: 200, isProtected: { _ in false }).isEmpty)
        #expect(EvictionPlanner.victims(of: [old, middle], usedBytes: 100, targetBytes: 200, isProtected: { _ in false }).isEmpty)
    }

    @Test func theLeastRecentlyUsedGoFirstWhateverTheInputOrder() {
        let victims = EvictionPlanner.victims(of: [recent, old, middle], usedBytes: 300, targetBytes: 150, isProtected: { _ in false })
        #expect(victims == [old, middle])
    }

    @Test func stopsAsSoonAsTheExcessIsCovered() {
        let big = Self.record("4", size: 500, at: 5)
        let victims = EvictionPlanner.victims(of: [recent, big, old, middle], usedBytes: 800, targetBytes: 700, isProtected: { _ in false })
        #expect(victims == [big])
        let exact = EvictionPlanner.victims(of: [recent, old, middle], usedBytes: 300, targetBytes: 200, isProtected: { _ in false })
        #expect(exact == [old])
    }

    @Test func neverChoosesAProtectedBlob() {
        let victims = EvictionPlanner.victims(of: [old, middle, recent], usedBytes: 300, targetBytes: 200,
                                              isProtected: { $0 == old.digest })
        #expect(victims == [middle])
    }

    @Test func returnsWhatItCanWhenProtectedBlobsStandInTheWay() {
        let victims = EvictionPlanner.victims(of: [old, middle, recent], usedBytes: 300, targetBytes: 0,
                                              isProtected: { $0 != middle.digest })
        #expect(victims == [middle])
        #expect(EvictionPlanner.victims(of: [old, middle], usedBytes: 200, targetBytes: 0, isProtected: { _ in true }).isEmpty)
    }

    @Test func equalRecencyIsBrokenByDigest() {
        let b = Self.record("b", size: 10, at: 1)
        let a = Self.record("a", size: 10, at: 1)
        let victims = EvictionPlanner.victims(of: [b, a], usedBytes: 20, targetBytes: 15, isProtected: { _ in false })
        #expect(victims == [a])
    }

    @Test func usedBytesMayIncludeReservationsTheBlobsCannotCover() {
        // 1,000 used (blobs plus reservations) against a target of 0: every blob goes, and no more.
        let victims = EvictionPlanner.victims(of: [old, middle], usedBytes: 1_000, targetBytes: 0, isProtected: { _ in false })
        #expect(victims == [old, middle])
    }

    @Test func anEmptyStoreHasNoVictims() {
        #expect(EvictionPlanner.victims(of: [BlobRecord](), usedBytes: 50, targetBytes: 0, isProtected: { _ in false }).isEmpty)
    }
}
