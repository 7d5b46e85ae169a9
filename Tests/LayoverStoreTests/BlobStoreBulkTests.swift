import Foundation
import LayoverWire
import Testing
@testable import LayoverStore

@Suite("BlobStore bulk put")
final class BlobStoreBulkTests {
    let scratch = ScratchDirectory()
    let clock = ManualClock(2_000)
    var layout: StoreLayout { StoreLayout(root: scratch.path + "/store") }
    let repository = RepositoryKey(upstream: "up", repository: try! RepositoryName("bulk/app"))

    func openStore() throws -> BlobStore {
        try BlobStore(layout: layout, budget: StoreBudget(maxBytes: 1 << 30), clock: clock.function, availableBytes: plentyOfDisk)
    }

    @Test func storedBlobsAreServedLinkedAndSurviveARestart() async throws {
        let blobs = (0..<50).map { content(100 + $0, seed: UInt8($0)) }
        let manifest = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#.utf8)
        var store = try openStore()
        let records = try await store.putMany(blobs.map { .init(bytes: $0, repository: repository) }
                                              + [.init(bytes: manifest, mediaType: "application/vnd.oci.image.manifest.v1+json")])
        #expect(records.map(\.digest) == (blobs + [manifest]).map { Digest.sha256(of: $0) })
        #expect(records.allSatisfy { $0.lastAccess == 2_000 })
        #expect(store.usage.files == 51)
        #expect(store.usage.bytes == Int64(blobs.reduce(0) { $0 + $1.count } + manifest.count))
        #expect(store.read(records[7].digest) == blobs[7])
        #expect(store.record(for: records[50].digest)?.mediaType == "application/vnd.oci.image.manifest.v1+json")
        #expect(try await store.isLinked(repository, records[3].digest))
        #expect(try await !store.isLinked(repository, records[50].digest))
        #expect(scratch.files(under: "store/ingest").isEmpty)

        // Content already stored keeps its record; the rest is added, once however often it comes.
        clock.set(3_000)
        let fresh = content(7, seed: 99)
        let again = try await store.putMany([.init(bytes: blobs[0]), .init(bytes: fresh), .init(bytes: fresh)])
        #expect(again[0] == records[0])
        #expect(again[1] == again[2] && again[1].lastAccess == 3_000)
        #expect(store.usage.files == 52)
        #expect(store.state.withLock { $0.adopting.isEmpty })

        store.close()
        store = try openStore()
        #expect(store.usage.files == 52)
        #expect(store.record(for: records[50].digest) == records[50])
        #expect(store.read(records[49].digest) == blobs[49])
        #expect(try await store.isLinked(repository, records[0].digest))
    }

    @Test func recencyOfMoreBlobsThanOneFlushBatchIsAllWritten() async throws {
        var store = try openStore()
        let records = try await store.putMany((0..<700).map { .init(bytes: content(64, seed: UInt8($0 % 256)) + [UInt8($0 / 256)]) })
        clock.set(5_000)
        for record in records { store.touch(record.digest) }
        await store.flushRecency()
        store.close()
        store = try openStore()
        #expect(try store.index.allBlobs().allSatisfy { $0.lastAccess == 5_000 })
        #expect(store.records.count == 700)
    }
}

