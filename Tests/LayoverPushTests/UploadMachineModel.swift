// Shared by the property tests and the libFuzzer target (loadtests/fuzz/upload-machine.swift),
// which compiles this file beside UploadMachine.swift in one module: hence no Testing here and a
// conditional import.
#if canImport(LayoverPush)
import LayoverPush
#endif

/// One thing that happens to an upload session.
enum UploadStep: Equatable, Sendable {
    /// Where a request that wants to append says its bytes start.
    enum Start: Equatable, Sendable {
        /// No `Content-Range` (a PATCH without one, a final PUT with a body).
        case unstated
        /// Exactly where the session is.
        case atOffset
        /// Somewhere the client names.
        case at(Int64)

        /// The start the request states when the session is at `current`.
        func position(current: Int64) -> Int64? {
            switch self {
            case .unstated: nil
            case .atOffset: current
            case .at(let offset): offset
            }
        }
    }

    /// A request starts appending.
    case begin(Start)
    /// The appending request wrote `wrote` bytes and stops; `close` for a final PUT.
    case end(wrote: Int64, close: Bool)
    /// A DELETE, or the expiry sweep dropping the session.
    case cancel
    /// Time passes.
    case wait(seconds: Double)

    /// Reads steps off `bytes`, one byte choosing each step and the next ones its numbers, so a
    /// fuzzer's input or a random byte array is a sequence of steps.
    static func decode(_ bytes: [UInt8]) -> [UploadStep] {
        var rest = bytes[...]
        func number(_ count: Int) -> Int64 {
            var value: Int64 = 0
            for shift in 0..<count { value |= Int64(rest.popFirst() ?? 0) << (8 * Int64(shift)) }
            return value
        }
        var steps: [UploadStep] = []
        while let byte = rest.popFirst() {
            switch byte % 7 {
            case 0: steps.append(.begin(.unstated))
            case 1: steps.append(.begin(.atOffset))
            case 2: steps.append(.begin(.at(number(2) - 256)))
            case 3: steps.append(.end(wrote: number(2), close: false))
            case 4: steps.append(.end(wrote: number(2), close: true))
            case 5: steps.append(.cancel)
            default: steps.append(.wait(seconds: Double(number(1))))
            }
        }
        return steps
    }
}

/// What an upload session promises its clients, written plainly: bytes are received only from
/// the current offset and only by one request at a time; the offset is the sum of what accepted
/// requests wrote; a cancel while a request writes is left to that writer, whose bytes are then
/// dropped; an idle session expires; and a session that has ended accepts nothing ever again.
struct UploadMachineModel {
    /// How long an idle session lives, in seconds.
    static let timeout: Double = 10

    var ended = false
    var writerActive = false
    var cancelAsked = false
    var received: Int64 = 0
    var lastTouched: Double = 0

    /// Runs `steps` on a fresh `UploadMachine` and on the model side by side; the first
    /// disagreement or broken promise, described, or nil.
    static func check(_ steps: [UploadStep]) -> String? {
        var machine = UploadMachine(now: 0)
        var model = UploadMachineModel()
        var now: Double = 0
        for (index, step) in steps.enumerated() {
            let wasClosed = machine.phase == .closed
            let offsetBefore = machine.offset
            let answer: Answer
            let expected: Answer
            switch step {
            case .begin(let start):
                let at = start.position(current: machine.offset)
                answer = .append(machine.beginAppend(start: at, now: now))
                expected = .append(model.begin(at: at, now: now))
            case .end(let wrote, let close):
                answer = .ended(machine.endAppend(wrote: wrote, now: now, close: close))
                expected = .ended(model.end(wrote: wrote, close: close, now: now))
            case .cancel:
                answer = .closed(machine.close())
                expected = .closed(model.cancel())
            case .wait(let seconds):
                now += seconds
                answer = .none
                expected = .none
            }
            // Described only on failure: this runs millions of times under the fuzzer.
            func failure(_ what: String) -> String { "step \(index) (\(step)) of \(steps): \(what)" }
            if answer != expected { return failure("answered \(answer), the model \(expected)") }
            if machine.offset != model.received { return failure("offset \(machine.offset), received \(model.received)") }
            if machine.offset < offsetBefore { return failure("offset went back from \(offsetBefore)") }
            if machine.phase != model.phase { return failure("phase \(machine.phase), the model \(model.phase)") }
            if wasClosed, machine.phase != .closed { return failure("a closed session opened again") }
            if machine.isCancelled != (model.writerActive && model.cancelAsked) { return failure("isCancelled \(machine.isCancelled)") }
            if machine.offset > 0 ? machine.rangeHeader != "0-\(machine.offset - 1)" : machine.rangeHeader != "0-0" {
                return failure("Range \(machine.rangeHeader)")
            }
            let expired = !model.ended && !model.writerActive && now - model.lastTouched > timeout
            if machine.isExpired(now: now, timeout: timeout) != expired { return failure("expired \(!expired) at \(now)") }
        }
        return nil
    }

    /// What one step answered.
    private enum Answer: Equatable {
        case append(UploadMachine.AppendDecision)
        case ended(Bool)
        case closed(UploadMachine.CloseDecision)
        case none
    }

    var phase: UploadMachine.Phase {
        if ended { return .closed }
        if writerActive { return cancelAsked ? .cancelling : .writing }
        return .open
    }

    mutating func begin(at start: Int64?, now: Double) -> UploadMachine.AppendDecision {
        if ended || cancelAsked { return .unknown }
        if writerActive { return .busy }
        if let start, start != received { return .outOfOrder(expected: received) }
        writerActive = true
        lastTouched = now
        return .append
    }

    mutating func end(wrote: Int64, close: Bool, now: Double) -> Bool {
        guard writerActive else { return false }
        writerActive = false
        if cancelAsked {
            ended = true
            return false
        }
        received += wrote
        ended = close
        lastTouched = now
        return true
    }

    mutating func cancel() -> UploadMachine.CloseDecision {
        if ended || cancelAsked { return .alreadyClosed }
        if writerActive {
            cancelAsked = true
            return .writerDrops
        }
        ended = true
        return .dropNow
    }
}
