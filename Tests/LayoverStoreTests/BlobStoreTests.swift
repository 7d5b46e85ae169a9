import Foundation
import GRDB
import LayoverWire
import Synchronization
import Testing
@testable import LayoverStore

@Suite("BlobStore")
final class BlobStoreTests {
    let scratch = ScratchDirectory()
    let clock = ManualClock(1_000)
    var layout: StoreLayout { StoreLayout(root: scratch.path + "/store") }

    func openStore(maxBytes: Int64 = 1 << 30,
                   availableBytes: @escaping @Sendable (String) -> Int64? = plentyOfDisk) throws -> BlobStore {
        try BlobStore(layout: layout, budget: StoreBudget(maxBytes: maxBytes), clock: clock.function,
                      availableBytes: availableBytes)
    }

    /// Puts `bytes` as a plain blob at time `time`.
    @discardableResult
    func store(_ bytes: [UInt8], in store: BlobStore, at time: Double) async throws -> Digest {
        clock.set(time)
        let digest = Digest.sha256(of: bytes)
        _ = try await store.put(bytes, digest: digest, mediaType: nil)
        return digest
    }

    // MARK: Ingest and commit

    @Test func openingCreatesTheLayout() throws {
        let store = try openStore()
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: layout.blobsDirectory, isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(FileManager.default.fileExists(atPath: layout.ingestDirectory, isDirectory: &isDirectory) && isDirectory.boolValue)
        #expect(FileManager.default.fileExists(atPath: layout.indexPath))
        #expect(store.usage == (bytes: 0, files: 0, reserved: 0))
    }

    @Test func ingestThenCommitMakesTheBlobVisible() async throws {
        let store = try openStore()
        let bytes = Array("hello world".utf8)
        let digest = Digest.sha256(of: bytes)
        clock.set(1_234)

        let writer = try await store.beginIngest(expectedSize: Int64(bytes.count))
        #expect(writer.path.hasPrefix(layout.ingestDirectory + "/"))
        #expect(store.usage.reserved == 11)
        try writer.write(Array(bytes[..<5]))
        try writer.write(Array(bytes[5...]))
        #expect(writer.written == 11)
        #expect(writer.currentDigest == digest)
        // Not visible before the commit: only the ingest file exists.
        #expect(store.record(for: digest) == nil)
        #expect(store.lease(digest) == nil)
        #expect(scratch.files(under: "store/ingest").count == 1)
        #expect(scratch.files(under: "store/blobs").isEmpty)

        let record = try await writer.commit(expected: digest, expectedSize: 11, mediaType: "text/plain")
        #expect(record == BlobRecord(digest: digest, size: 11, mediaType: "text/plain", lastAccess: 1_234))
        #expect(store.record(for: digest) == record)
        #expect(store.usage == (bytes: 11, files: 1, reserved: 0))
        #expect(scratch.files(under: "store/ingest").isEmpty)
        #expect(scratch.files(under: "store/blobs") == ["sha256/b9/b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"])
        #expect(FileManager.default.contents(atPath: layout.blobPath(for: digest)) == Data(bytes))
        #expect(store.read(digest) == bytes)
        #expect(try store.index.allBlobs() == [record])
    }

    @Test func aCommittedBlobIsThereAfterReopening() async throws {
        let bytes = content(100, seed: 1)
        let digest: Digest
        do {
            let store = try openStore()
            digest = try await self.store(bytes, in: store, at: 50)
            store.close()
        }
        let reopened = try openStore()
        #expect(reopened.record(for: digest) == BlobRecord(digest: digest, size: 100, mediaType: nil, lastAccess: 50))
        #expect(reopened.read(digest) == bytes)
        #expect(reopened.usage == (bytes: 100, files: 1, reserved: 0))
    }

    @Test func aDigestMismatchKeepsNothing() async throws {
        let store = try openStore()
        let bytes = content(64, seed: 2)
        let wrong = Digest.sha256(of: content(64, seed: 3))
        let writer = try await store.beginIngest(expectedSize: 64)
        try writer.write(bytes)
        await #expect(throws: StoreError.digestMismatch(expected: wrong, actual: Digest.sha256(of: bytes))) {
            try await writer.commit(expected: wrong, expectedSize: 64)
        }
        #expect(scratch.files(under: "store/ingest").isEmpty)
        #expect(scratch.files(under: "store/blobs").isEmpty)
        #expect(store.record(for: wrong) == nil)
        #expect(store.record(for: Digest.sha256(of: bytes)) == nil)
        #expect(store.usage == (bytes: 0, files: 0, reserved: 0))
        #expect(try store.index.allBlobs().isEmpty)
    }

    @Test func aSizeMismatchKeepsNothing() async throws {
        let store = try openStore()
        let bytes = content(64, seed: 4)
        let digest = Digest.sha256(of: bytes)
        let writer = try await store.beginIngest(expectedSize: 100)
        #expect(store.usage.reserved == 100)
        try writer.write(bytes)
        await #expect(throws: StoreError.sizeMismatch(expected: 100, actual: 64)) {
            try await writer.commit(expected: digest, expectedSize: 100)
        }
        #expect(scratch.files(under: "store/ingest").isEmpty)
        #expect(scratch.files(under: "store/blobs").isEmpty)
        #expect(store.record(for: digest) == nil)
        #expect(store.usage == (bytes: 0, files: 0, reserved: 0))
        #expect(try store.index.allBlobs().isEmpty)
    }

    @Test func abortRemovesTheIngestFileAndReturnsTheReservation() async throws {
        let store = try openStore()
        let writer = try await store.beginIngest(expectedSize: 10)
        try writer.write(content(5, seed: 5))
        #expect(scratch.files(under: "store/ingest").count == 1)
        writer.abort()
        writer.abort()
        #expect(scratch.files(under: "store/ingest").isEmpty)
        #expect(store.usage == (bytes: 0, files: 0, reserved: 0))
    }

    @Test func aSecondCommitOfTheSameContentKeepsTheFirst() async throws {
        let store = try openStore()
        let bytes = content(10, seed: 6)
        let digest = Digest.sha256(of: bytes)
        let first = try await store.beginIngest(expectedSize: 10)
        let second = try await store.beginIngest(expectedSize: 10)
        try first.write(bytes)
        try second.write(bytes)
        clock.set(2_000)
        let kept = try await first.commit(expected: digest)
        clock.set(3_000)
        let again = try await second.commit(expected: digest, mediaType: "ignored")
        #expect(again == kept)
        #expect(again.lastAccess == 2_000)
        #expect(store.usage == (bytes: 10, files: 1, reserved: 0))
        #expect(scratch.files(under: "store/ingest").isEmpty)
    }

    @Test func putStoresVerifiedContentOnce() async throws {
        let store = try openStore()
        let bytes = Array(#"{"schemaVersion":2}"#.utf8)
        let digest = Digest.sha256(of: bytes)
        clock.set(10)
        let record = try await store.put(bytes, digest: digest, mediaType: MediaType.ociManifest)
        #expect(record == BlobRecord(digest: digest, size: Int64(bytes.count), mediaType: MediaType.ociManifest, lastAccess: 10))
        clock.set(20)
        let again = try await store.put(bytes, digest: digest, mediaType: MediaType.dockerManifest)
        #expect(again == record)
        #expect(store.usage.files == 1)
    }

    @Test func putGivesAPlainBlobAMediaType() async throws {
        let store = try openStore()
        let bytes = content(30, seed: 7)
        let digest = try await self.store(bytes, in: store, at: 10)
        #expect(store.record(for: digest)?.mediaType == nil)
        let record = try await store.put(bytes, digest: digest, mediaType: MediaType.ociIndex)
        #expect(record.mediaType == MediaType.ociIndex)
        #expect(store.record(for: digest)?.mediaType == MediaType.ociIndex)
        #expect(try store.index.allBlobs().map(\.mediaType) == [MediaType.ociIndex])
    }

    @Test func putRefusesContentThatIsNotItsDigest() async throws {
        let store = try openStore()
        let wrong = Digest.sha256(of: content(8, seed: 9))
        let bytes = content(8, seed: 8)
        await #expect(throws: StoreError.digestMismatch(expected: wrong, actual: Digest.sha256(of: bytes))) {
            try await store.put(bytes, digest: wrong, mediaType: nil)
        }
        #expect(scratch.files(under: "store").filter { !$0.hasPrefix("index.sqlite") && $0 != "lock" }.isEmpty)
        #expect(store.usage == (bytes: 0, files: 0, reserved: 0))
    }

    @Test func readRefusesBlobsAboveTheLimitAndUnknownDigests() async throws {
        let store = try openStore()
        let bytes = content(100, seed: 10)
        let digest = try await self.store(bytes, in: store, at: 1)
        #expect(store.read(digest, maximumSize: 99) == nil)
        #expect(store.read(digest, maximumSize: 100) == bytes)
        #expect(store.read(Digest.sha256(of: [1, 2, 3])) == nil)
    }

    @Test func aLeaseNamesTheVerifiedFileAndTouchesTheBlob() async throws {
        let store = try openStore()
        let digest = try await self.store(content(10, seed: 11), in: store, at: 100)
        clock.set(500)
        let lease = try #require(store.lease(digest))
        #expect(lease.path == layout.blobPath(for: digest))
        #expect(lease.record.lastAccess == 500)
        #expect(store.record(for: digest)?.lastAccess == 500)
        clock.set(600)
        store.touch(digest)
        #expect(store.record(for: digest)?.lastAccess == 600)
        lease.release()
    }

    // MARK: Reconciliation

    @Test func reconcileAfterACrash() async throws {
        let kept = content(100, seed: 20)
        let lost = content(200, seed: 21)
        let resized = content(300, seed: 22)
        let orphan = content(50, seed: 23)
        let keptDigest: Digest, lostDigest: Digest, resizedDigest: Digest
        do {
            let store = try openStore()
            keptDigest = try await self.store(kept, in: store, at: 1)
            lostDigest = try await self.store(lost, in: store, at: 2)
            resizedDigest = try await self.store(resized, in: store, at: 3)
            store.close()
        }
        // The crash: an ingest in progress, a blob file gone, one truncated, one without a row.
        let orphanDigest = Digest.sha256(of: orphan)
        #expect(FileManager.default.createFile(atPath: layout.ingestPath(id: "interrupted"), contents: Data(content(70, seed: 24))))
        try FileManager.default.removeItem(atPath: layout.blobPath(for: lostDigest))
        try Data(resized.prefix(10)).write(to: URL(fileURLWithPath: layout.blobPath(for: resizedDigest)))
        try FileManager.default.createDirectory(atPath: layout.blobDirectory(for: orphanDigest), withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: layout.blobPath(for: orphanDigest), contents: Data(orphan)))
        #expect(scratch.files(under: "store/ingest") == ["interrupted"])

        let store = try openStore()
        #expect(scratch.files(under: "store/ingest").isEmpty)
        #expect(store.record(for: keptDigest) == BlobRecord(digest: keptDigest, size: 100, mediaType: nil, lastAccess: 1))
        // The open reads the rows only; files are compared with them once the store serves.
        #expect(store.filesUnchecked)
        #expect(store.record(for: orphanDigest) == nil, "no blob directory was read at the open")
        #expect(await store.checkFilesAfterCrash() == .init(adopted: 1, quarantined: 2))
        #expect(!store.filesUnchecked)
        #expect(store.record(for: lostDigest) == nil, "a file gone loses its row")
        #expect(store.record(for: resizedDigest) == nil, "a truncated file loses its row")
        // The file without a row hashes to its name: adopted. Its modification time is after
        // this test's clock, so its recency is the clock's now.
        #expect(store.record(for: orphanDigest) == BlobRecord(digest: orphanDigest, size: 50, mediaType: nil, lastAccess: 3))
        #expect(store.usage == (bytes: 150, files: 2, reserved: 0))
        #expect(try store.index.allBlobs().map(\.digest) == [keptDigest, orphanDigest])
        #expect(scratch.files(under: "store/blobs") == [keptDigest, orphanDigest].map { "sha256/\($0.encoded.prefix(2))/\($0.encoded)" }.sorted())
        #expect(scratch.files(under: "store/quarantine") == ["sha256-\(resizedDigest.encoded)"])
        #expect(store.read(keptDigest) == kept)
        #expect(store.read(orphanDigest) == orphan)
    }

    @Test("the table is sized from the rows before they load: its slot array is not copied while they do, nor by the next blobs stored")
    func tableSizedBeforeLoading() async throws {
        do {
            let store = try openStore()
            _ = try await store.putMany((0..<1_000).map { .init(bytes: content(16, seed: UInt8($0 % 256)) + [UInt8($0 / 256)]) })
            store.close()
        }
        let store = try openStore()
        #expect(store.usage.files == 1_000)
        let capacity = store.state.withLock { $0.records.slotCapacity }
        #expect(capacity >= 1_250, "a quarter more than the rows: \(capacity)")
        store.close()
    }

    @Test("a store opened with pushed blobs still held keeps its table's reserved slots: protecting them does not copy the slot array")
    func protectionLoadedInPlace() async throws {
        do {
            let store = try openStore()
            let records = try await store.putMany((0..<1_000).map { .init(bytes: content(16, seed: UInt8($0 % 256)) + [UInt8($0 / 256)]) })
            let repository = RepositoryKey(upstream: "up", repository: try RepositoryName("app"))
            try await store.holdForPush(records.prefix(100).map(\.digest), in: repository, seconds: 86_400)
            await store.closeCleanly()
        }
        let store = try openStore()
        #expect(store.pinnedBytes > 0, "the holds are loaded")
        // A copy on the first change (a second reference to the table left by the opening) has
        // only as many slots as blobs: the next blob stored copies the whole array again.
        let capacity = store.state.withLock { $0.records.slotCapacity }
        #expect(capacity >= 1_250, "a quarter more than the rows: \(capacity)")
        store.close()
    }

    @Test("a blob's row is in its slot: a row of an evicted blob not yet deleted is replaced, and a second row of one digest is dropped at the next open")
    func rowsInSlots() async throws {
        let (a, b) = (content(100, seed: 40), content(200, seed: 41))
        let store = try openStore()
        let digestA = try await self.store(a, in: store, at: 1)
        let digestB = try await self.store(b, in: store, at: 2)
        let rows = { try store.index.pool.read { try Row.fetchAll($0, sql: "SELECT id, digest FROM blob ORDER BY id") }
            .map { ($0["id"] as Int64, $0["digest"] as String) } }
        #expect(try rows().map(\.0) == [store.state.withLock { $0.records.rowID(of: digestA) }, store.state.withLock { $0.records.rowID(of: digestB) }])
        // An eviction's delete names its slot and digest: a slot taken by another blob since keeps that blob's row.
        try await store.index.delete([(row: 0, digest: digestB)])
        #expect(try rows().count == 2)
        // A crash after B's eviction freed its slot and before the delete ran, B stored again in another slot.
        try await store.index.pool.write { db in
            try db.execute(sql: "INSERT INTO blob (id, digest, size, lastAccess) VALUES (9, ?, 200, 3)", arguments: [digestB.description])
        }
        store.close()
        let reopened = try openStore()
        #expect(reopened.usage == (bytes: 300, files: 2, reserved: 0))
        #expect(try await reopened.index.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM blob WHERE digest = ?", arguments: [digestB.description]) } == 1)
        #expect(reopened.read(digestB) == b)
        reopened.close()
    }

    @Test("a link belongs to the stored blob: under its slot, dropped with it, not inherited by the next blob in that slot")
    func linksFollowTheSlot() async throws {
        let store = try openStore()
        let repository = RepositoryKey(upstream: "up", repository: try RepositoryName("team/app"))
        let linkRows = { try await store.index.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM repositoryLink") } }
        let digestA = try await self.store(content(100, seed: 50), in: store, at: 1)
        try await store.link(repository, digestA)
        let slot = try #require(store.rowID(of: digestA))
        #expect(try await store.index.isLinked(repository, digestA, row: slot))
        #expect(store.repositories(holding: digestA, upstream: "up") == [repository.repository])
        try await store.quarantine(digestA)
        #expect(try await linkRows() == 0, "gone with the blob")
        let digestB = try await self.store(content(100, seed: 51), in: store, at: 2)
        #expect(store.rowID(of: digestB) == slot)
        #expect(try await !store.isLinked(repository, digestB))
        // Known for a blob not stored: remembered, not written.
        let absent = Digest.sha256(of: content(10, seed: 52))
        try await store.link(repository, absent)
        #expect(try await store.isLinked(repository, absent))
        #expect(try await linkRows() == 0)
        store.close()
    }

    @Test("a store opened after a crash is marked cleanly closed only once its files were checked")
    func cleanCloseWaitsForTheFileCheck() async throws {
        do {
            let store = try openStore()
            _ = try await self.store(content(100, seed: 30), in: store, at: 1)
            store.close()
        }
        do {
            let store = try openStore()
            #expect(store.filesUnchecked)
            await store.closeCleanly()
        }
        do {
            let store = try openStore()
            #expect(store.filesUnchecked, "closed before the check: the next start is a crash's")
            #expect(await store.checkFilesAfterCrash() == .init())
            await store.closeCleanly()
        }
        let store = try openStore()
        #expect(!store.filesUnchecked, "checked, then closed cleanly: the index is trusted")
        store.close()
    }

    @Test("close() closes the index's connections, as a process exit would: an open after it never overlaps them; closing again does nothing")
    func closeClosesTheIndex() async throws {
        let store = try openStore()
        let bytes = content(100, seed: 33)
        _ = try await self.store(bytes, in: store, at: 1)
        #expect(openIndexFiles().contains(layout.indexPath))
        store.close()
        #expect(openIndexFiles() == [], "no connection of the closed store is left open")
        let log = try FileManager.default.attributesOfItem(atPath: layout.indexPath + "-wal")[.size] as? Int
        #expect(log == 0, "the log was copied into the database and emptied: the next open has nothing to recover")
        #expect(store.record(for: Digest.sha256(of: bytes))?.size == 100, "the in-memory table stays readable")
        await #expect(throws: StoreError.self) { try await self.store(content(10, seed: 34), in: store, at: 2) }
        store.close()
        let reopened = try openStore()
        #expect(reopened.usage.files == 1)
        await reopened.closeCleanly()
        reopened.close()
    }

    /// This process's open descriptors of the index and its log files (`/proc/self/fd`).
    func openIndexFiles() -> Set<String> {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return Set(descriptors.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0) }
            .filter { $0.hasPrefix(layout.indexPath) })
    }

    // MARK: Recency

    @Test func recencySurvivesReopening() async throws {
        let a = content(10, seed: 30), b = content(10, seed: 31)
        let digestA: Digest, digestB: Digest
        do {
            let store = try openStore()
            digestA = try await self.store(a, in: store, at: 100)
            digestB = try await self.store(b, in: store, at: 200)
            clock.set(300)
            store.touch(digestA)
            await store.flushRecency()
            store.close()
        }
        let reopened = try openStore()
        #expect(reopened.record(for: digestA)?.lastAccess == 300)
        #expect(reopened.record(for: digestB)?.lastAccess == 200)
        // The order decides eviction after the restart: B is now the least recently used.
        let planned = reopened.state.withLock { $0.victims(excess: 10, sparing: nil) }
        #expect(planned.map(\.digest) == [digestB])
    }

    @Test("a flush writes last accesses into the compact `access` table; a blob's row keeps the time it was stored")
    func recencyGoesToTheAccessTable() async throws {
        let store = try openStore()
        defer { store.close() }
        let digest = try await self.store(content(10, seed: 34), in: store, at: 100)
        clock.set(300)
        store.touch(digest)
        await store.flushRecency()
        let (stored, accessed) = try await store.index.pool.read { db in
            (try Double.fetchAll(db, sql: "SELECT lastAccess FROM blob"), try Double.fetchAll(db, sql: "SELECT lastAccess FROM access"))
        }
        #expect(stored == [100])
        #expect(accessed == [300])
        #expect(try store.index.allBlobs().map(\.lastAccess) == [300])
    }

    @Test("an access row left by a slot's evicted blob is older than the slot's next blob, whose recency it does not change")
    func staleAccessRowChangesNothing() async throws {
        let a = content(10, seed: 35), b = content(10, seed: 36)
        let digestB: Digest
        do {
            let store = try openStore()
            let digestA = try await self.store(a, in: store, at: 100)
            let slot = try #require(store.rowID(of: digestA))
            clock.set(200)
            store.touch(digestA)
            await store.flushRecency()
            try await store.quarantine(digestA)
            digestB = try await self.store(b, in: store, at: 300)
            #expect(store.rowID(of: digestB) == slot, "B took A's slot")
            store.close()
        }
        let reopened = try openStore()
        #expect(reopened.record(for: digestB)?.lastAccess == 300)
        #expect(try await reopened.index.pool.read { db in try Double.fetchAll(db, sql: "SELECT lastAccess FROM access") } == [200])
    }

    @Test func recencyIsNotMovedBackwardsByAnOlderFlush() async throws {
        let bytes = content(10, seed: 32)
        let digest: Digest
        do {
            let store = try openStore()
            digest = try await self.store(bytes, in: store, at: 500)
            clock.set(400)
            store.touch(digest)
            await store.flushRecency()
            store.close()
        }
        let reopened = try openStore()
        #expect(reopened.record(for: digest)?.lastAccess == 500)
    }

    @Test func unflushedRecencyIsLostOnReopening() async throws {
        let bytes = content(10, seed: 33)
        let digest: Digest
        do {
            let store = try openStore()
            digest = try await self.store(bytes, in: store, at: 100)
            clock.set(900)
            store.touch(digest)
            store.close()
        }
        let reopened = try openStore()
        #expect(reopened.record(for: digest)?.lastAccess == 100)
    }

    // MARK: Eviction

    @Test func evictionRemovesTheLeastRecentlyUsedFirst() async throws {
        let store = try openStore(maxBytes: 1_000)
        #expect(store.budget.lowWatermark == 900)
        let a = try await self.store(content(300, seed: 40), in: store, at: 1)
        let b = try await self.store(content(300, seed: 41), in: store, at: 2)
        let c = try await self.store(content(300, seed: 42), in: store, at: 3)
        clock.set(4)
        store.touch(a)  // A is now more recent than B and C.
        #expect(store.usage == (bytes: 900, files: 3, reserved: 0))

        let d = try await self.store(content(300, seed: 43), in: store, at: 5)
        #expect(store.record(for: b) == nil)
        #expect(!FileManager.default.fileExists(atPath: layout.blobPath(for: b)))
        #expect(store.record(for: a) != nil)
        #expect(store.record(for: c) != nil)
        #expect(store.record(for: d) != nil)
        #expect(store.usage == (bytes: 900, files: 3, reserved: 0))
        #expect(Set(try store.index.allBlobs().map(\.digest)) == [a, c, d])
    }

    @Test func evictionGoesDownToTheLowWatermark() async throws {
        let store = try openStore(maxBytes: 1_000)
        var digests: [Digest] = []
        for seed in 0..<10 {
            digests.append(try await self.store(content(100, seed: UInt8(50 + seed)), in: store, at: Double(seed + 1)))
        }
        #expect(store.usage.bytes == 1_000)
        // 1,150 bytes wanted against a budget of 1,000: down to 900, so the three oldest go.
        let big = try await self.store(content(150, seed: 70), in: store, at: 20)
        #expect(digests.filter { store.record(for: $0) == nil } == Array(digests[0..<3]))
        #expect(store.record(for: big) != nil)
        #expect(store.usage == (bytes: 850, files: 8, reserved: 0))
    }

    @Test func evictionNeverRemovesALeasedBlob() async throws {
        let store = try openStore(maxBytes: 1_000)
        let a = try await self.store(content(300, seed: 80), in: store, at: 1)
        let b = try await self.store(content(300, seed: 81), in: store, at: 2)
        let c = try await self.store(content(300, seed: 82), in: store, at: 3)
        clock.set(1)
        let lease = try #require(store.lease(a))  // A stays the least recently used, but is leased.
        let second = try #require(store.lease(a))
        #expect(store.record(for: a)?.lastAccess == 1)

        let d = try await self.store(content(300, seed: 83), in: store, at: 5)
        #expect(store.record(for: a) != nil)
        #expect(FileManager.default.fileExists(atPath: layout.blobPath(for: a)))
        #expect(store.record(for: b) == nil)
        #expect(!FileManager.default.fileExists(atPath: layout.blobPath(for: b)))
        #expect(store.record(for: c) != nil)
        #expect(store.record(for: d) != nil)

        // One lease released: A is still held by the other.
        lease.release()
        lease.release()
        let e = try await self.store(content(300, seed: 84), in: store, at: 6)
        #expect(store.record(for: a) != nil)
        #expect(store.record(for: c) == nil)

        // Every lease released: A is evictable like any other blob.
        second.release()
        _ = try await self.store(content(300, seed: 85), in: store, at: 7)
        #expect(store.record(for: a) == nil)
        #expect(!FileManager.default.fileExists(atPath: layout.blobPath(for: a)))
        #expect(store.record(for: d) != nil)
        #expect(store.record(for: e) != nil)
    }

    @Test func aJustCommittedBlobIsSparedWhileEverythingElseIsLeased() async throws {
        let store = try openStore(maxBytes: 1_000)
        let a = try await self.store(content(600, seed: 90), in: store, at: 1)
        let lease = try #require(store.lease(a))
        let b = try await self.store(content(600, seed: 91), in: store, at: 2)
        // Over budget with A leased: B, just committed, is spared too, for its caller to use.
        #expect(store.record(for: a) != nil)
        #expect(store.record(for: b) != nil)
        #expect(store.usage == (bytes: 1_200, files: 2, reserved: 0))
        lease.release()
        await store.evictIfNeeded()
        #expect(store.record(for: a) == nil, "A is the least recently used once nothing protects it")
        #expect(store.record(for: b) != nil)
        #expect(store.usage == (bytes: 600, files: 1, reserved: 0))
    }

    // MARK: Disk full

    @Test func aFullDiskThrowsDiskFullAndKeepsNothing() async throws {
        let store = try openStore(availableBytes: { _ in 1_000 })
        await #expect(throws: StoreError.diskFull) {
            try await store.beginIngest(expectedSize: 1_001)
        }
        #expect(scratch.files(under: "store/ingest").isEmpty)
        #expect(store.usage == (bytes: 0, files: 0, reserved: 0))
        // Content that fits is still accepted.
        let writer = try await store.beginIngest(expectedSize: 1_000)
        writer.abort()
        let bytes = content(10, seed: 100)
        await #expect(throws: StoreError.diskFull) {
            try await store.put(content(2_000, seed: 101), digest: Digest.sha256(of: content(2_000, seed: 101)), mediaType: nil)
        }
        _ = try await store.put(bytes, digest: Digest.sha256(of: bytes), mediaType: nil)
        #expect(store.usage == (bytes: 10, files: 1, reserved: 0))
    }

    @Test func aFullDiskEvictsTheLeastRecentlyUsedToMakeRoom() async throws {
        let paths = Locked<[String]>([])
        // The disk has room for the new blob once the oldest blob's file is gone.
        let disk: @Sendable (String) -> Int64? = { _ in
            let oldest = paths.withLock { $0.first }
            guard let oldest else { return 1 << 30 }
            return FileManager.default.fileExists(atPath: oldest) ? 50 : 10_000
        }
        let store = try openStore(availableBytes: disk)
        let old = try await self.store(content(100, seed: 110), in: store, at: 1)
        let recent = try await self.store(content(100, seed: 111), in: store, at: 2)
        paths.withLock { $0 = [layout.blobPath(for: old)] }

        let writer = try await store.beginIngest(expectedSize: 80)
        writer.abort()
        #expect(store.record(for: old) == nil)
        #expect(store.record(for: recent) != nil)
        #expect(store.usage == (bytes: 100, files: 1, reserved: 0))
    }

    @Test func aDiskWithNoAnswerDoesNotBlockIngests() async throws {
        let store = try openStore(availableBytes: { _ in nil })
        let bytes = content(10, seed: 120)
        let record = try await store.put(bytes, digest: Digest.sha256(of: bytes), mediaType: nil)
        #expect(record.size == 10)
    }
}
