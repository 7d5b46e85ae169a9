import Foundation
import LayoverWire
import Testing
@testable import LayoverStore

@Suite("BlobStore verify and lock")
final class BlobStoreVerifyTests {
    let scratch = ScratchDirectory()
    var layout: StoreLayout { StoreLayout(root: scratch.path + "/store") }

    func openStore() throws -> BlobStore {
        try BlobStore(layout: layout, budget: StoreBudget(maxBytes: 1 << 30), availableBytes: { _ in 1 << 40 })
    }

    @Test("a second open of the same store fails while the first holds it, and succeeds after")
    func storeIsLocked() throws {
        var first: BlobStore? = try openStore()
        #expect(throws: StoreError.locked("\(layout.lockPath) is held by another process (a running layover serve?)")) {
            _ = try openStore()
        }
        first?.close()
        first = nil
        _ = try openStore()
    }

    @Test("check finds intact, altered, truncated and missing files; quarantine takes a blob out")
    func checkAndQuarantine() async throws {
        let store = try openStore()
        var digests: [Digest] = []
        for seed in 0..<4 {
            let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* (seed + 3)) }
            let digest = Digest.sha256(of: bytes)
            _ = try await store.put(bytes, digest: digest, mediaType: nil)
            digests.append(digest)
        }
        let (intact, altered, truncated, missing) = (digests[0], digests[1], digests[2], digests[3])
        let alteredFile = try #require(FileHandle(forUpdatingAtPath: layout.blobPath(for: altered)))
        try alteredFile.seek(toOffset: 2_000_000)
        try alteredFile.write(contentsOf: [0xAA])
        try alteredFile.close()
        #expect(truncate(layout.blobPath(for: truncated), 1_000) == 0)
        try FileManager.default.removeItem(atPath: layout.blobPath(for: missing))

        var seen = 0
        #expect(store.check(try #require(store.record(for: intact))) { seen += $0 } == nil)
        #expect(seen == 3_000_000, "progress counts every byte read")
        #expect(store.check(try #require(store.record(for: altered)))?.hasPrefix("content hashes to sha256:") == true)
        #expect(store.check(try #require(store.record(for: truncated))) == "size 1000, index says 3000000")
        #expect(store.check(try #require(store.record(for: missing)))?.hasPrefix("cannot open") == true)

        let moved = try await store.quarantine(altered)
        #expect(moved == "\(layout.quarantineDirectory)/sha256-\(altered.encoded)")
        #expect(FileManager.default.fileExists(atPath: moved))
        #expect(store.record(for: altered) == nil)
        try await store.quarantine(missing)
        #expect(store.record(for: missing) == nil, "a missing file is forgotten too")
        #expect(store.usage.files == 2)
    }
}
