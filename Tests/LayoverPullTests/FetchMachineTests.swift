import LayoverUpstream
import Testing
@testable import LayoverPull

@Suite("FetchMachine")
struct FetchMachineTests {
    @Test func startsConnectingWithNothingToRead() {
        let machine = FetchMachine()
        #expect(machine.phase == .connecting)
        #expect(machine.written == 0)
        #expect(machine.readableLimit == 0)
        #expect(machine.knownSize == nil)
        #expect(!machine.hasStarted)
        #expect(machine.nextAction(offset: 0) == .wait)
    }

    @Test func startingAnnouncesTheSize() {
        var machine = FetchMachine()
        machine.started(size: 10)
        #expect(machine.phase == .streaming(size: 10))
        #expect(machine.knownSize == 10)
        #expect(machine.hasStarted)
        #expect(machine.readableLimit == 0)
        #expect(machine.nextAction(offset: 0) == .wait)
    }

    @Test func anUnannouncedSizeStillStarts() {
        var machine = FetchMachine()
        machine.started(size: nil)
        #expect(machine.phase == .streaming(size: nil))
        #expect(machine.knownSize == nil)
        #expect(machine.hasStarted)
    }

    @Test func theReadableLimitHoldsBackTheLastByteUntilCommitted() {
        var machine = FetchMachine()
        machine.started(size: 10)
        #expect(machine.appended(1) == false)  // 1 byte on disk, 0 readable: no one to wake.
        #expect(machine.written == 1)
        #expect(machine.readableLimit == 0)
        #expect(machine.appended(4) == true)
        #expect(machine.readableLimit == 4)
        #expect(machine.appended(5) == true)
        #expect(machine.written == 10)
        #expect(machine.readableLimit == 9)
        #expect(machine.nextAction(offset: 9) == .wait)
        machine.committed()
        #expect(machine.phase == .committed(size: 10))
        #expect(machine.readableLimit == 10)
        #expect(machine.knownSize == 10)
        #expect(machine.nextAction(offset: 9) == .read(limit: 10))
    }

    @Test func readersReadWhatIsReadableThenWait() {
        var machine = FetchMachine()
        machine.started(size: 100)
        _ = machine.appended(40)
        #expect(machine.nextAction(offset: 0) == .read(limit: 39))
        #expect(machine.nextAction(offset: 20) == .read(limit: 39))
        #expect(machine.nextAction(offset: 38) == .read(limit: 39))
        #expect(machine.nextAction(offset: 39) == .wait)
        #expect(machine.nextAction(offset: 60) == .wait)
    }

    @Test func readersFinishAtTheCommittedSize() {
        var machine = FetchMachine()
        machine.started(size: 8)
        _ = machine.appended(8)
        machine.committed()
        #expect(machine.nextAction(offset: 0) == .read(limit: 8))
        #expect(machine.nextAction(offset: 7) == .read(limit: 8))
        #expect(machine.nextAction(offset: 8) == .finished(size: 8))
        #expect(machine.nextAction(offset: 20) == .finished(size: 8))
    }

    @Test func theCommittedSizeIsWhatWasWrittenWhenNoneWasAnnounced() {
        var machine = FetchMachine()
        machine.started(size: nil)
        _ = machine.appended(3)
        _ = machine.appended(4)
        machine.committed()
        #expect(machine.phase == .committed(size: 7))
        #expect(machine.knownSize == 7)
    }

    @Test func anEmptyBlobFinishesAtOnceWhenCommitted() {
        var machine = FetchMachine()
        machine.started(size: 0)
        #expect(machine.nextAction(offset: 0) == .wait)
        machine.committed()
        #expect(machine.nextAction(offset: 0) == .finished(size: 0))
    }

    @Test func aFailureFailsEveryReader() {
        var machine = FetchMachine()
        machine.started(size: 10)
        _ = machine.appended(6)
        machine.failed(.corrupt("digest mismatch"))
        #expect(machine.phase == .failed(.corrupt("digest mismatch")))
        #expect(machine.readableLimit == 0)
        #expect(machine.knownSize == nil)
        #expect(machine.hasStarted)
        #expect(machine.nextAction(offset: 0) == .fail(.corrupt("digest mismatch")))
        #expect(machine.nextAction(offset: 5) == .fail(.corrupt("digest mismatch")))
    }

    @Test func aFailureWhileConnectingReleasesThoseWaitingForTheStart() {
        var machine = FetchMachine()
        machine.failed(.notFound)
        #expect(machine.hasStarted)
        #expect(machine.nextAction(offset: 0) == .fail(.notFound))
    }

    @Test func aFailureAfterCommitIsIgnored() {
        var machine = FetchMachine()
        machine.started(size: 4)
        _ = machine.appended(4)
        machine.committed()
        machine.failed(.upstream(.unavailable("connection reset")))
        #expect(machine.phase == .committed(size: 4))
        #expect(machine.nextAction(offset: 0) == .read(limit: 4))
    }

    @Test func theFirstFailureWins() {
        var machine = FetchMachine()
        machine.failed(.noSpace)
        machine.failed(.store("later"))
        #expect(machine.phase == .failed(.noSpace))
    }

    @Test func eventsOutOfOrderAreIgnored() {
        var machine = FetchMachine()
        #expect(machine.appended(5) == false)
        #expect(machine.written == 0)
        machine.committed()
        #expect(machine.phase == .connecting)

        machine.started(size: 5)
        machine.started(size: 99)
        #expect(machine.phase == .streaming(size: 5))
        _ = machine.appended(5)
        machine.committed()
        #expect(machine.appended(5) == false)
        #expect(machine.written == 5)
        machine.started(size: 1)
        #expect(machine.phase == .committed(size: 5))

        var failed = FetchMachine()
        failed.failed(.notFound)
        failed.started(size: 3)
        #expect(failed.appended(3) == false)
        failed.committed()
        #expect(failed.phase == .failed(.notFound))
        #expect(failed.written == 0)
    }

    @Test func appendingNothingWakesNoOne() {
        var machine = FetchMachine()
        machine.started(size: 10)
        _ = machine.appended(3)
        #expect(machine.appended(0) == false)
        #expect(machine.readableLimit == 2)
    }
}
