import Foundation
import GRDB
import LayoverWire
import Testing
@testable import LayoverStore

/// The check after a crash between a blob's rename into `blobs/` and its index row (or an
/// eviction's delete and its unlink): what can be proven (the file hashes to its name) is kept,
/// the rest quarantined.
@Suite("BlobStore crash recovery")
final class BlobStoreRecoveryTests {
    let scratch = ScratchDirectory()
    let clock = ManualClock(1_000)
    var layout: StoreLayout { StoreLayout(root: scratch.path + "/store") }

    func openStore() throws -> BlobStore {
        try BlobStore(layout: layout, budget: StoreBudget(maxBytes: 1 << 30), clock: clock.function, availableBytes: plentyOfDisk)
    }

    /// Writes `bytes` at `digest`'s place in the store (as a rename with no row after it leaves
    /// it), modified at `modified` seconds since 1970.
    func placeFile(_ bytes: [UInt8], at path: String, modified: Double? = nil) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        if let modified {
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: modified)], ofItemAtPath: path)
        }
    }

    @Test("a file that hashes to its name and has no row is adopted once the store serves: recorded, counted, served, its mtime its last access")
    func adoptsProvenFile() async throws {
        let a = content(1_000, seed: 1), orphan = content(3_000_000, seed: 2), b = content(2_000, seed: 3)
        let digestA = Digest.sha256(of: a), digestB = Digest.sha256(of: b), orphanDigest = Digest.sha256(of: orphan)
        do {
            let store = try openStore()
            clock.set(100)
            _ = try await store.put(a, digest: digestA, mediaType: nil)
            clock.set(300)
            _ = try await store.put(b, digest: digestB, mediaType: nil)
            store.close()
        }
        try placeFile(orphan, at: layout.blobPath(for: orphanDigest), modified: 200)
        clock.set(1_000)

        let store = try openStore()
        #expect(store.record(for: orphanDigest) == nil, "the open reads no blob directory")
        #expect(await store.checkFilesAfterCrash() == .init(adopted: 1, quarantined: 0))
        #expect(store.record(for: orphanDigest) == BlobRecord(digest: orphanDigest, size: 3_000_000, mediaType: nil, lastAccess: 200))
        #expect(store.usage == (bytes: 3_003_000, files: 3, reserved: 0), "its bytes count against the budget")
        // Adopted while serving, it joins the recency list as the most recently used.
        let order = store.state.withLock { $0.victims(excess: 1 << 30, sparing: nil) }.map(\.digest)
        #expect(order == [digestA, digestB, orphanDigest])
        #expect(store.read(orphanDigest, maximumSize: 4_000_000) == orphan)
        let lease = try #require(store.lease(orphanDigest))
        #expect(lease.path == layout.blobPath(for: orphanDigest))
        lease.release()
        #expect(scratch.files(under: "store/quarantine").isEmpty)
        store.close()

        // Its row was written, with its mtime: after the next start its recency is in order.
        let reopened = try openStore()
        #expect(try reopened.index.allBlobs().map(\.digest).contains(orphanDigest))
        #expect(reopened.usage.files == 3)
        #expect(reopened.state.withLock { $0.victims(excess: 1 << 30, sparing: nil) }.map(\.digest) == [digestA, orphanDigest, digestB])
        #expect(await reopened.checkFilesAfterCrash() == .init())
    }

    @Test("a file that is not what its place names is quarantined and never served")
    func quarantinesUnprovenFiles() async throws {
        let claimed = content(500, seed: 10), actual = content(500, seed: 11)
        let claimedDigest = Digest.sha256(of: claimed)
        let misplaced = content(400, seed: 12)
        let misplacedDigest = Digest.sha256(of: misplaced)
        let wrongPrefix = misplacedDigest.encoded.hasPrefix("00") ? "01" : "00"
        do {
            let store = try openStore()
            store.close()
        }
        try placeFile(actual, at: layout.blobPath(for: claimedDigest))
        try placeFile(misplaced, at: "\(layout.blobsDirectory)/sha256/\(wrongPrefix)/\(misplacedDigest.encoded)")
        try placeFile(content(10, seed: 13), at: "\(layout.blobsDirectory)/sha256/ab/not-a-digest")

        let store = try openStore()
        #expect(await store.checkFilesAfterCrash() == .init(adopted: 0, quarantined: 3))
        #expect(store.record(for: claimedDigest) == nil)
        #expect(store.lease(claimedDigest) == nil)
        #expect(store.record(for: misplacedDigest) == nil)
        #expect(store.usage == (bytes: 0, files: 0, reserved: 0))
        #expect(try store.index.allBlobs().isEmpty)
        #expect(scratch.files(under: "store/blobs").isEmpty)
        #expect(scratch.files(under: "store/quarantine")
            == ["sha256-\(claimedDigest.encoded)", "sha256-\(misplacedDigest.encoded)", "sha256-not-a-digest"].sorted())
        #expect(FileManager.default.contents(atPath: layout.quarantinePath(for: claimedDigest)) == Data(actual),
                "the quarantined file keeps its bytes for inspection")
    }

    @Test("an eviction and a quarantine delete the row before the file: a crash between leaves a file without a row, never a row without its file")
    func rowsGoBeforeFiles() async throws {
        let store = try BlobStore(layout: layout, budget: StoreBudget(maxBytes: 10_000), clock: clock.function, availableBytes: plentyOfDisk)
        // On the writer's connection: every blob row deleted notes whether its file was still there.
        let layout = self.layout
        try await store.index.pool.write { db in
            db.add(function: DatabaseFunction("fileExists", argumentCount: 1, pure: false) { values in
                guard let text = String.fromDatabaseValue(values[0]), let digest = try? Digest(parsing: text) else { return false }
                return FileManager.default.fileExists(atPath: layout.blobPath(for: digest))
            })
            try db.execute(sql: """
                CREATE TEMP TABLE deleted (digest TEXT, fileThere INTEGER);
                CREATE TEMP TRIGGER noteDelete BEFORE DELETE ON main.blob
                BEGIN INSERT INTO deleted VALUES (OLD.digest, fileExists(OLD.digest)); END;
                """)
        }
        let blobs = (0..<3).map { content(4_000, seed: UInt8(30 + $0)) }
        for (offset, blob) in blobs.enumerated() {
            clock.set(Double(offset))
            _ = try await store.put(blob, digest: Digest.sha256(of: blob), mediaType: nil)
        }
        let corrupt = Digest.sha256(of: blobs[2])
        try await store.quarantine(corrupt)
        let deleted = try await store.index.pool.write { db in
            try Row.fetchAll(db, sql: "SELECT digest, fileThere FROM deleted").map { ($0[0] as String, $0[1] as Bool) }
        }
        let evicted = Digest.sha256(of: blobs[0])
        #expect(deleted.map(\.0) == [evicted.description, corrupt.description], "the third put evicted the oldest")
        let allThere = deleted.allSatisfy { $0.1 }
        #expect(allThere, "each file was still in place when its row went: \(deleted)")
        #expect(!FileManager.default.fileExists(atPath: layout.blobPath(for: evicted)))
        #expect(FileManager.default.fileExists(atPath: layout.quarantinePath(for: corrupt)))
        store.close()
    }
}
