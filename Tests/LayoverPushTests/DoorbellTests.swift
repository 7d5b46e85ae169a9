@testable import LayoverPush
import Testing

@Suite("Doorbell")
struct DoorbellTests {
    @Test("a ring before the wait is remembered once; a wait after it times out")
    func ringIsRememberedOnce() async {
        let doorbell = Doorbell()
        doorbell.ring()
        let clock = ContinuousClock()
        let immediate = await clock.measure { await doorbell.wait(timeout: .seconds(30)) }
        #expect(immediate < .seconds(5))
        let timedOut = await clock.measure { await doorbell.wait(timeout: .milliseconds(200)) }
        #expect(timedOut >= .milliseconds(200))
    }

    @Test("a woken wait leaves no stray ring behind (its cancelled alarm stays silent)")
    func noStrayRing() async {
        let doorbell = Doorbell()
        let waiter = Task { await doorbell.wait(timeout: .seconds(30)) }
        while !doorbell.hasWaiter { await Task.yield() }
        doorbell.ring()
        await waiter.value
        let clock = ContinuousClock()
        let next = await clock.measure { await doorbell.wait(timeout: .milliseconds(300)) }
        #expect(next >= .milliseconds(300), "the second wait must not return early")
    }
}
