import Foundation
import Testing

/// At most `EndToEndSlots.limit` end-to-end tests run at once. Swift Testing starts every test
/// of the run together; each end-to-end test starts a registry, a Layover and clients, and on 2
/// cores a few dozen of them at once starve one another for seconds, which the tests with time
/// bounds (header and stall timeouts, the breaker's answer times) then fail. Every suite of this
/// target carries the trait (`@Suite(..., .endToEnd)`); a test holds its slot for its whole run.
struct EndToEndSlot: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        await EndToEndSlots.shared.acquire()
        do {
            try await function()
        } catch {
            await EndToEndSlots.shared.release()
            throw error
        }
        await EndToEndSlots.shared.release()
    }
}

extension Trait where Self == EndToEndSlot {
    /// Runs each test of the suite in one of the few end-to-end slots.
    static var endToEnd: Self { EndToEndSlot() }
}

/// The slots: a counting semaphore, first come first served.
actor EndToEndSlots {
    static let shared = EndToEndSlots()
    /// End-to-end tests at once (`LAYOVER_E2E_PARALLEL` overrides it).
    static let limit = Int(ProcessInfo.processInfo.environment["LAYOVER_E2E_PARALLEL"] ?? "") ?? 2

    private var free = EndToEndSlots.limit
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
