import Testing
@testable import LayoverStore

@Suite("Scrub pacer")
struct ScrubPacerTests {
    let start = ContinuousClock.now

    @Test("no rate: never waits")
    func unlimited() {
        var pacer = ScrubPacer(bytesPerSecond: 0)
        #expect(pacer.delay(after: 1 << 30, at: start) == .zero)
    }

    @Test("pieces read at once wait their share of the rate")
    func keepsTheRate() {
        var pacer = ScrubPacer(bytesPerSecond: 1 << 20)
        #expect(pacer.delay(after: 1 << 20, at: start) == .seconds(1))
        // Read the next piece as soon as allowed: the next wait is again one piece's time.
        #expect(pacer.delay(after: 512 << 10, at: start + .seconds(1)) == .milliseconds(500))
        // A piece read late (the disk was slow) waits less.
        #expect(pacer.delay(after: 1 << 20, at: start + .seconds(2)) == .milliseconds(500))
    }

    @Test("after a stall, at most one second of catching up")
    func catchUpIsBounded() {
        var pacer = ScrubPacer(bytesPerSecond: 1 << 20)
        _ = pacer.delay(after: 1 << 20, at: start)
        let late = start + .seconds(60)
        // A minute behind: the first second's worth goes through at once, then the rate holds.
        #expect(pacer.delay(after: 512 << 10, at: late) == .zero)
        #expect(pacer.delay(after: 512 << 10, at: late) == .zero)
        #expect(pacer.delay(after: 512 << 10, at: late) == .milliseconds(500))
    }
}
