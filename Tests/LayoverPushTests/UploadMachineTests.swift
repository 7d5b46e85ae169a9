import LayoverPush
import Testing

@Suite("Upload session machine")
struct UploadMachineTests {
    @Test("chunks append in order; a chunk at the wrong offset is refused with the expected offset")
    func ordering() {
        var machine = UploadMachine(now: 0)
        #expect(machine.rangeHeader == "0-0")
        #expect(machine.beginAppend(start: nil, now: 1) == .append)
        _ = machine.endAppend(wrote: 100, now: 2)
        #expect(machine.rangeHeader == "0-99")
        #expect(machine.beginAppend(start: 50, now: 3) == .outOfOrder(expected: 100))
        #expect(machine.beginAppend(start: 100, now: 3) == .append)
        #expect(machine.beginAppend(start: 100, now: 3) == .busy)
        _ = machine.endAppend(wrote: 10, now: 4)
        #expect(machine.offset == 110)
    }

    @Test("a closed session is unknown and closes once")
    func closing() {
        var machine = UploadMachine(now: 0)
        let first = machine.close()
        let second = machine.close()
        #expect(first == .dropNow)
        #expect(second == .alreadyClosed)
        #expect(machine.beginAppend(start: nil, now: 1) == .unknown)
    }

    @Test("a cancel during a write is left to the writer, which learns it at its next step and at its end")
    func cancelWhileWriting() {
        var machine = UploadMachine(now: 0)
        #expect(machine.beginAppend(start: nil, now: 1) == .append)
        #expect(machine.close() == .writerDrops)
        #expect(machine.isCancelled)
        #expect(machine.close() == .alreadyClosed)
        #expect(machine.beginAppend(start: nil, now: 2) == .unknown)
        let kept = machine.endAppend(wrote: 10, now: 3)
        #expect(!kept)
        #expect(machine.phase == .closed)
        #expect(machine.offset == 0)
    }

    @Test("a closing append ends the session for the commit; no cancel can reach it afterwards")
    func closingAppend() {
        var machine = UploadMachine(now: 0)
        #expect(machine.beginAppend(start: nil, now: 1) == .append)
        let kept = machine.endAppend(wrote: 5, now: 2, close: true)
        #expect(kept)
        #expect(machine.phase == .closed)
        #expect(machine.close() == .alreadyClosed)
    }

    @Test("idle sessions expire after the timeout, never while written to")
    func expiry() {
        var machine = UploadMachine(now: 0)
        #expect(!machine.isExpired(now: 100, timeout: 100))
        #expect(machine.isExpired(now: 101, timeout: 100))
        #expect(machine.beginAppend(start: nil, now: 101) == .append)
        #expect(!machine.isExpired(now: 1000, timeout: 100))
        _ = machine.endAppend(wrote: 1, now: 1000)
        #expect(!machine.isExpired(now: 1050, timeout: 100))
        #expect(machine.isExpired(now: 1101, timeout: 100))
    }
}
