import LayoverPush
import PropertyBased
import Testing

/// The upload machine under random operation sequences, against `UploadMachineModel`: offsets
/// add up to what accepted writers wrote, chunks land only at the offset, one writer at a time, a
/// cancel during a write drops that write, and a closed session accepts nothing.
@Suite("Upload session machine, properties")
struct UploadMachinePropertyTests {
    @Test("random operation sequences agree with the model step by step")
    func againstModel() async {
        await propertyCheck(count: 500, input: Gen.uint8().array(of: 0...120)) { bytes in
            let steps = UploadStep.decode(bytes)
            let failure = UploadMachineModel.check(steps)
            #expect(failure == nil, "\(failure ?? "")")
        }
    }

    @Test("a session closed by its final PUT or by a cancel accepts nothing afterwards", arguments: [true, false])
    func closedAcceptsNothing(byPut: Bool) async {
        await propertyCheck(input: Gen.uint8().array(of: 0...60)) { bytes in
            var machine = UploadMachine(now: 0)
            _ = machine.beginAppend(start: nil, now: 0)
            if byPut {
                _ = machine.endAppend(wrote: 5, now: 1, close: true)
            } else {
                _ = machine.endAppend(wrote: 5, now: 1)
                _ = machine.close()
            }
            for step in UploadStep.decode(bytes) {
                switch step {
                case .begin(let start):
                    let decision = machine.beginAppend(start: start.position(current: 5), now: 2)
                    #expect(decision == .unknown)
                case .end(let wrote, let close):
                    let kept = machine.endAppend(wrote: wrote, now: 2, close: close)
                    #expect(!kept)
                case .cancel:
                    let decision = machine.close()
                    #expect(decision == .alreadyClosed)
                case .wait(let seconds): #expect(!machine.isExpired(now: 2 + seconds, timeout: 0))
                }
                #expect(machine.phase == .closed && machine.offset == 5)
            }
        }
    }
}
