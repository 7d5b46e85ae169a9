import Testing
@testable import LayoverPull

@Suite("SingleFlight")
struct SingleFlightTests {
    @Test func concurrentCallersShareOneExecution() async throws {
        let flight = SingleFlight<String, Int>()
        let counter = ExecutionCounter()
        let gate = Gate()
        let (started, startedContinuation) = AsyncStream<Void>.makeStream()
        let executor = SerialTaskExecutor()

        let callers = (0..<8).map { _ in
            Task(executorPreference: executor) {
                try await flight.run("key") {
                    let execution = await counter.increment()
                    startedContinuation.yield()
                    await gate.wait()
                    return 40 + execution
                }
            }
        }
        // Every caller has joined (each ran up to its wait for the shared result).
        await executor.drain()
        var iterator = started.makeAsyncIterator()
        await iterator.next()
        #expect(flight.inFlightCount == 1)
        #expect(await counter.count == 1)

        gate.open()
        var results: [Int] = []
        for caller in callers { results.append(try await caller.value) }
        #expect(results == Array(repeating: 41, count: 8))
        #expect(await counter.count == 1)
        #expect(flight.inFlightCount == 0)
    }

    @Test func differentKeysRunConcurrentlyAndSeparately() async throws {
        let flight = SingleFlight<Int, String>()
        let counter = ExecutionCounter()
        let gate = Gate()
        let (started, startedContinuation) = AsyncStream<Int>.makeStream()

        let one = Task { try await flight.run(1) { _ = await counter.increment(); startedContinuation.yield(1); await gate.wait(); return "one" } }
        let two = Task { try await flight.run(2) { _ = await counter.increment(); startedContinuation.yield(2); await gate.wait(); return "two" } }

        // Both operations are running at once before either may finish.
        var seen: Set<Int> = []
        for await key in started {
            seen.insert(key)
            if seen.count == 2 { break }
        }
        #expect(seen == [1, 2])
        #expect(flight.inFlightCount == 2)
        gate.open()
        #expect(try await one.value == "one")
        #expect(try await two.value == "two")
        #expect(await counter.count == 2)
    }

    @Test func aFinishedOperationIsNotCached() async throws {
        let flight = SingleFlight<String, Int>()
        let counter = ExecutionCounter()
        let first = try await flight.run("key") { await counter.increment() }
        let second = try await flight.run("key") { await counter.increment() }
        #expect(first == 1)
        #expect(second == 2)
        #expect(flight.inFlightCount == 0)
    }

    struct Failure: Error, Equatable {
        var detail: String
    }

    @Test func everyConcurrentCallerGetsTheError() async throws {
        let flight = SingleFlight<String, Int>()
        let counter = ExecutionCounter()
        let gate = Gate()
        let (started, startedContinuation) = AsyncStream<Void>.makeStream()
        let executor = SerialTaskExecutor()

        let callers = (0..<3).map { _ in
            Task(executorPreference: executor) {
                try await flight.run("key") {
                    _ = await counter.increment()
                    startedContinuation.yield()
                    await gate.wait()
                    throw Failure(detail: "upstream down")
                }
            }
        }
        await executor.drain()
        var iterator = started.makeAsyncIterator()
        await iterator.next()
        gate.open()
        for caller in callers {
            await #expect(throws: Failure(detail: "upstream down")) { try await caller.value }
        }
        #expect(await counter.count == 1)
        #expect(flight.inFlightCount == 0)

        // The failure is not remembered: the next call runs again.
        #expect(try await flight.run("key") { 7 } == 7)
    }

    @Test func aCancelledCallerDoesNotCancelTheOperationForOthers() async throws {
        let flight = SingleFlight<String, Bool>()
        let gate = Gate()
        let (started, startedContinuation) = AsyncStream<Void>.makeStream()
        let executor = SerialTaskExecutor()

        let operation: @Sendable () async throws -> Bool = {
            startedContinuation.yield()
            await gate.wait()
            return Task.isCancelled
        }
        let leaving = Task(executorPreference: executor) { try await flight.run("key", operation) }
        let staying = Task(executorPreference: executor) { try await flight.run("key", operation) }
        await executor.drain()
        var iterator = started.makeAsyncIterator()
        await iterator.next()

        leaving.cancel()
        gate.open()
        #expect(try await staying.value == false)
        #expect(try await leaving.value == false)
    }
}
