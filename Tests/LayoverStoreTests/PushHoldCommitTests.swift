import LayoverWire
import Testing
@testable import LayoverStore

/// An upload's commit with a push hold (issue 18): the blob, its hold and its repository link
/// are recorded in one index transaction, and protect the blob as `holdForPush` does.
@Suite("Commit with a push hold")
final class PushHoldCommitTests {
    let scratch = ScratchDirectory()
    let clock = ManualClock(1_000)
    let repository = RepositoryKey(upstream: "up", repository: try! RepositoryName("ci/app"))

    func open() throws -> BlobStore {
        try BlobStore(layout: StoreLayout(root: scratch.path + "/store"), budget: StoreBudget(maxBytes: 1 << 30),
                      clock: clock.function, availableBytes: plentyOfDisk)
    }

    func ingest(_ bytes: [UInt8], into store: BlobStore, hold: PushHold?) async throws -> BlobRecord {
        let writer = try await store.beginIngest(expectedSize: nil)
        try writer.write(bytes)
        return try await writer.commit(expected: Digest.sha256(of: bytes), hold: hold)
    }

    @Test("a new blob is stored, held for the repository's manifest and linked to it, and all three survive a restart")
    func newBlob() async throws {
        let bytes = content(3_000, seed: 1)
        let store = try open()
        let record = try await ingest(bytes, into: store, hold: PushHold(repository: repository, seconds: 60))
        #expect(store.pinnedBytes == 3_000)
        #expect(try await store.isLinked(repository, record.digest))
        #expect(try store.index.holds(now: clock.now).map { $0.0 } == [HoldKey(repository: repository, digest: record.digest)])
        #expect(try store.index.holds(now: clock.now).map { $0.1 } == [1_060])
        store.close()

        let reopened = try open()
        #expect(reopened.read(record.digest) == bytes)
        #expect(reopened.pinnedBytes == 3_000, "the hold came back from the index")
        #expect(try await reopened.isLinked(repository, record.digest))
        clock.set(1_061)
        #expect(reopened.pinnedBytes == 0, "and ends when it runs out")
    }

    @Test("a blob already stored (pulled, unheld) is held and linked by a push of the same bytes")
    func storedBlob() async throws {
        let bytes = content(2_000, seed: 2)
        let store = try open()
        let first = try await ingest(bytes, into: store, hold: nil)
        #expect(store.pinnedBytes == 0)
        #expect(try await !store.isLinked(repository, first.digest))

        let second = try await ingest(bytes, into: store, hold: PushHold(repository: repository, seconds: 60))
        #expect(second == first, "one copy")
        #expect(store.pinnedBytes == 2_000)
        #expect(try await store.isLinked(repository, first.digest))
        #expect(try store.index.holds(now: clock.now).count == 1)
    }

    @Test("a commit whose digest does not match holds nothing")
    func mismatch() async throws {
        let store = try open()
        let writer = try await store.beginIngest(expectedSize: nil)
        try writer.write(content(1_000, seed: 3))
        await #expect(throws: StoreError.self) {
            try await writer.commit(expected: Digest.sha256(of: content(1_000, seed: 4)), hold: PushHold(repository: self.repository, seconds: 60))
        }
        #expect(store.pinnedBytes == 0)
        #expect(try store.index.holds(now: clock.now).isEmpty)
    }
}
