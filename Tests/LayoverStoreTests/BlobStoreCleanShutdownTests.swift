import Foundation
import LayoverWire
import Testing
@testable import LayoverStore

/// A store closed cleanly opens without reading its blob directories; any other close (a crash,
/// or a crash of the run that trusted the index) is reconciled in full.
@Suite("BlobStore clean shutdown")
final class BlobStoreCleanShutdownTests {
    let scratch = ScratchDirectory()
    let clock = ManualClock(1_000)
    var layout: StoreLayout { StoreLayout(root: scratch.path + "/store") }

    func openStore() throws -> BlobStore {
        try BlobStore(layout: layout, budget: StoreBudget(maxBytes: 1 << 30), clock: clock.function, availableBytes: plentyOfDisk)
    }

    /// Leaves `bytes` at its digest's place with no row, as a crash between rename and commit does.
    func placeOrphan(_ bytes: [UInt8]) throws -> Digest {
        let digest = Digest.sha256(of: bytes)
        let path = layout.blobPath(for: digest)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return digest
    }

    var marked: Bool { FileManager.default.fileExists(atPath: layout.root + "/clean-shutdown") }

    @Test("after closeCleanly the next open trusts the index (a file without a row is not even looked at) and takes the mark")
    func cleanCloseSkipsTheScan() async throws {
        let stored = content(1_000, seed: 1)
        do {
            let store = try openStore()
            _ = try await store.put(stored, digest: Digest.sha256(of: stored), mediaType: nil)
            store.touch(Digest.sha256(of: stored))
            await store.closeCleanly()
        }
        #expect(marked)
        // Not something a clean close leaves; placed here to see whether the open reads the directories.
        let orphan = try placeOrphan(content(2_000, seed: 2))

        let store = try openStore()
        #expect(!marked, "the mark is taken at open: a crash of this run is not a clean close")
        #expect(store.record(for: Digest.sha256(of: stored)) != nil)
        #expect(store.record(for: orphan) == nil, "the blob directories were not read")
        store.close()

        // This run ended like a crash: the check after the next open reads everything and adopts the file.
        let reopened = try openStore()
        #expect(await reopened.checkFilesAfterCrash() == .init(adopted: 1, quarantined: 0))
        #expect(reopened.record(for: orphan) != nil)
        #expect(reopened.usage.files == 2)
        reopened.close()
    }

    @Test("close() is a crash as far as the next open is concerned: no mark, every file checked")
    func plainCloseLeavesNoMark() async throws {
        do {
            let store = try openStore()
            store.close()
        }
        #expect(!marked)
        let orphan = try placeOrphan(content(3_000, seed: 3))
        let store = try openStore()
        #expect(store.filesUnchecked)
        await store.checkFilesAfterCrash()
        #expect(store.record(for: orphan) != nil)
        store.close()
    }

    @Test("once closing, no copy is put in place: a commit fails with .closed and leaves nothing")
    func commitsAfterClosingFail() async throws {
        let store = try openStore()
        let bytes = content(4_000, seed: 4)
        let writer = try await store.beginIngest(expectedSize: Int64(bytes.count))
        try writer.write(bytes)
        await store.closeCleanly()
        await #expect(throws: StoreError.closed) { try await writer.commit(expected: Digest.sha256(of: bytes)) }
        #expect(scratch.files(under: "store/ingest").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: layout.blobPath(for: Digest.sha256(of: bytes))))
        #expect(store.usage.reserved == 0)
    }
}
