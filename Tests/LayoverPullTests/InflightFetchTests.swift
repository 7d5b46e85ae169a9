import Foundation
import LayoverStore
import LayoverWire
import LayoverUpstream
import Testing
@testable import LayoverPull

/// The driver around `FetchMachine`: readers suspend while nothing is readable and are woken by
/// the download's events. Each reader runs on a serial executor that is drained before the event
/// fires, so the reader is known to be suspended when it is woken.
@Suite("InflightFetch")
final class InflightFetchTests {
    let path = "/tmp/layover-inflight-tests-\(UUID().uuidString)"
    let fetch = InflightFetch(digest: Digest.sha256(of: Array("abcd".utf8)),
                              repository: RepositoryKey(upstream: "docker.io", repository: try! RepositoryName("library/alpine")))
    let executor = SerialTaskExecutor()

    init() {
        _ = FileManager.default.createFile(atPath: path, contents: Data("abcd".utf8))
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file() throws -> SharedDescriptor { try #require(SharedDescriptor(path: path)) }

    func reader(at offset: Int64) -> Task<(FetchMachine.ReadAction, SharedDescriptor?), Never> {
        Task(executorPreference: executor) { [fetch] in await fetch.nextAction(offset: offset) }
    }

    @Test func aWaitingReaderIsWokenWhenBytesBecomeReadable() async throws {
        let file = try file()
        let reader = reader(at: 0)
        await executor.drain()
        fetch.started(size: 4, file: file)
        fetch.appended(1)  // nothing readable yet: the last byte written is held back
        fetch.appended(2)
        let (action, descriptor) = await reader.value
        #expect(action == .read(limit: 2))
        #expect(descriptor === file)
    }

    @Test func theLastByteIsReadableOnlyAfterTheCommit() async throws {
        fetch.started(size: 4, file: try file())
        fetch.appended(4)
        let reader = reader(at: 3)
        await executor.drain()
        #expect(fetch.phase == .streaming(size: 4))
        fetch.committed()
        #expect(await reader.value.0 == .read(limit: 4))
        #expect(await fetch.nextAction(offset: 4).0 == .finished(size: 4))
    }

    @Test func aFailureWakesEveryWaitingReader() async throws {
        let readers = [reader(at: 0), reader(at: 2)]
        await executor.drain()
        fetch.failed(.upstream(.unavailable("connection reset")))
        for reader in readers {
            let (action, descriptor) = await reader.value
            #expect(action == .fail(.upstream(.unavailable("connection reset"))))
            #expect(descriptor == nil)
        }
        #expect(fetch.phase == .failed(.upstream(.unavailable("connection reset"))))
    }

    @Test func waitingForTheStartEndsWithTheSize() async throws {
        let waiter = Task(executorPreference: executor) { [fetch] in await fetch.waitForStart() }
        await executor.drain()
        fetch.started(size: nil, file: try file())
        #expect(await waiter.value == .success(nil))
    }

    @Test func waitingForTheStartEndsWithTheFailure() async throws {
        let waiter = Task(executorPreference: executor) { [fetch] in await fetch.waitForStart() }
        await executor.drain()
        fetch.failed(.noSpace)
        #expect(await waiter.value == .failure(.noSpace))
    }

    @Test func aCommittedDownloadAnswersAtOnce() async throws {
        fetch.started(size: 4, file: try file())
        fetch.appended(4)
        fetch.committed()
        #expect(await fetch.waitForStart() == .success(4))
        #expect(await fetch.nextAction(offset: 0).0 == .read(limit: 4))
    }

    @Test func waitingForTheEndIgnoresAppendsAndEndsWithTheCommit() async throws {
        let waiter = Task(executorPreference: executor) { [fetch] in await fetch.waitForEnd() }
        await executor.drain()
        fetch.started(size: 4, file: try file())
        fetch.appended(4)
        await executor.drain()
        #expect(fetch.phase == .streaming(size: 4))
        fetch.committed()
        await #expect(throws: Never.self) { try await waiter.value.get() }
    }

    @Test func waitingForTheEndEndsWithTheFailure() async throws {
        let waiter = Task(executorPreference: executor) { [fetch] in await fetch.waitForEnd() }
        await executor.drain()
        fetch.started(size: 4, file: try file())
        fetch.appended(3)
        fetch.failed(.corrupt("digest mismatch"))
        await #expect(throws: FetchMachine.Failure.corrupt("digest mismatch")) { try await waiter.value.get() }
    }
}
