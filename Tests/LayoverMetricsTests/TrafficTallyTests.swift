import Testing
@testable import LayoverMetrics

@Suite("TrafficTally")
struct TrafficTallyTests {
    @Test func countsLookupsAndBytes() {
        let tally = TrafficTally()
        #expect(tally.snapshot.hitRatio == nil, "no lookup yet: no ratio")
        tally.lookup(.manifest, hit: true)
        tally.lookup(.blob, hit: true)
        tally.lookup(.blob, hit: true)
        tally.lookup(.blob, hit: false)
        tally.joined()
        tally.served(1_000, fromStore: true)
        tally.served(300, fromStore: false)
        tally.fetched(400)
        let snapshot = tally.snapshot
        #expect(snapshot.manifestHits == 1)
        #expect(snapshot.blobHits == 2)
        #expect(snapshot.blobMisses == 1)
        #expect(snapshot.coalesced == 1)
        #expect(snapshot.hitRatio == 0.75)
        #expect(snapshot.egressSavedBytes == 900)
    }

    @Test("egress saved never goes below zero (a fetch whose readers left)")
    func egressSavedIsNeverNegative() {
        let tally = TrafficTally()
        tally.fetched(5_000)
        tally.served(1_000, fromStore: false)
        #expect(tally.snapshot.egressSavedBytes == 0)
    }
}
