import LayoverLocks
import Testing
@testable import LayoverFleet

@Suite("Member health")
struct MemberHealthTests {
    @Test func failingSinceTheFirstFailureInARowUntilReached() {
        let now = Locked<Double>(100)
        let health = MemberHealth(clock: { now.withLock { $0 } })
        let peer = Member(url: "http://10.0.0.2:5000")
        #expect(health.failingFor(peer) == nil)
        health.failed(peer)
        now.withLock { $0 = 130 }
        health.failed(peer)
        #expect(health.failingFor(peer) == 30)
        health.reached(peer)
        #expect(health.failingFor(peer) == nil)
    }
}
