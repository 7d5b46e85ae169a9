import Foundation
import LayoverWire
import Testing
@testable import LayoverStore

/// The online scrub: blobs re-hashed while the store is open, corrupt ones taken out of service.
@Suite("Store scrubber")
final class StoreScrubberTests {
    let scratch = ScratchDirectory()
    let clock = ManualClock(1_000)
    var layout: StoreLayout { StoreLayout(root: scratch.path + "/store") }

    func openStore() throws -> BlobStore {
        try BlobStore(layout: layout, budget: StoreBudget(maxBytes: 1 << 30), clock: clock.function, availableBytes: plentyOfDisk)
    }

    /// Flips one byte of `digest`'s stored file.
    func corrupt(_ digest: Digest, at offset: UInt64 = 1000) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: layout.blobPath(for: digest)))
        try handle.seek(toOffset: offset)
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: [byte ^ 0xFF])
        try handle.close()
    }

    @Test("a pass finds a blob corrupted while the store is open, quarantines it, and leaves the LRU alone")
    func passQuarantinesCorruptBlob() async throws {
        let store = try openStore()
        var digests: [Digest] = []
        for seed in 0..<3 {
            let bytes = content(2_500_000, seed: UInt8(seed))
            clock.set(100 + Double(seed))
            digests.append(try await store.put(bytes, digest: Digest.sha256(of: bytes), mediaType: nil).digest)
        }
        let bad = digests[1]
        try corrupt(bad)
        clock.set(5_000)

        let report = try await StoreScrubber(store: store, clock: clock.function).runPass()
        #expect(!report.running && report.stopped == nil)
        #expect(report.blobs == 3 && report.bytes == 7_500_000)
        #expect(report.blobsChecked == 3 && report.bytesChecked == 7_500_000 && report.blobsGone == 0)
        #expect(report.corrupt.map(\.digest) == [bad.description])
        #expect(report.corrupt.first?.problem.hasPrefix("content hashes to sha256:") == true)
        #expect(report.corrupt.first?.movedTo == layout.quarantinePath(for: bad))
        #expect(report.finishedAt == 5_000)

        #expect(store.record(for: bad) == nil)
        #expect(store.lease(bad) == nil, "never served again")
        #expect(try !store.index.allBlobs().map(\.digest).contains(bad), "its row is gone")
        #expect(FileManager.default.fileExists(atPath: layout.quarantinePath(for: bad)))
        #expect(store.usage == (bytes: 5_000_000, files: 2, reserved: 0))
        #expect(digests.filter { $0 != bad }.map { store.record(for: $0)?.lastAccess } == [100, 102],
                "reading every blob is not a use")
        #expect(store.state.withLock { $0.leases.isEmpty }, "every lease given back")

        // The right bytes come back (as the next pull would fetch them) and are served.
        let fresh = content(2_500_000, seed: 1)
        _ = try await store.put(fresh, digest: bad, mediaType: nil)
        #expect(store.read(bad, maximumSize: 3_000_000) == fresh)
        let again = try await StoreScrubber(store: store).runPass()
        #expect(again.corrupt.isEmpty && again.blobsChecked == 3)
    }

    @Test("start joins the pass that is running; reports are kept by pass")
    func startJoinsRunningPass() async throws {
        let store = try openStore()
        for seed in 0..<4 {
            let bytes = content(1 << 20, seed: UInt8(seed))
            _ = try await store.put(bytes, digest: Digest.sha256(of: bytes), mediaType: nil)
        }
        // 4 MiB at 8 MiB/s: about half a second.
        let scrubber = StoreScrubber(store: store, bytesPerSecond: 8 << 20)
        #expect(scrubber.report() == nil)
        let first = scrubber.start()
        #expect(first.pass == 1 && first.running)
        #expect(scrubber.start().pass == 1, "a second start joins the first pass")
        try await waitUntil { scrubber.report(pass: 1)?.running == false }
        let finished = try #require(scrubber.report(pass: 1))
        #expect(finished.blobsChecked == 4 && finished.corrupt.isEmpty)
        #expect(scrubber.start().pass == 2)
        try await waitUntil { scrubber.report()?.running == false }
        #expect(scrubber.report(pass: 1)?.blobsChecked == 4, "the earlier report is still there")
    }

    @Test("a pass walks the index page by page: every blob once, whatever the page size")
    func passWalksEveryPage() async throws {
        let store = try openStore()
        var digests: [Digest] = []
        for seed in 0..<7 {
            let bytes = content(1_000 + seed, seed: UInt8(seed))
            digests.append(try await store.put(bytes, digest: Digest.sha256(of: bytes), mediaType: nil).digest)
        }
        try corrupt(digests[5], at: 10)
        let report = try await StoreScrubber(store: store, pageSize: 2).runPass()
        #expect(report.blobs == 7 && report.blobsChecked == 7 && report.blobsGone == 0)
        #expect(report.bytesChecked == report.bytes)
        #expect(report.corrupt.map(\.digest) == [digests[5].description])
    }

    @Test("a quarantine waits while another copy of the digest is being put in place, and then leaves it alone")
    func quarantineWaitsForACommit() async throws {
        let store = try openStore()
        let bytes = content(10_000, seed: 9)
        let digest = try await store.put(bytes, digest: Digest.sha256(of: bytes), mediaType: nil).digest
        _ = store.state.withLock { $0.evicting.insert(digest) }
        let quarantine = Task { try await store.quarantine(digest) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(store.record(for: digest) != nil, "nothing happens while the digest is claimed")
        _ = store.state.withLock { $0.evicting.remove(digest) }
        _ = try await quarantine.value
        #expect(store.record(for: digest) == nil)
        #expect(store.state.withLock { $0.evicting.isEmpty })
    }

    @Test("a blob no longer stored when its turn comes is gone, not corrupt")
    func evictedBlobIsGone() async throws {
        let store = try openStore()
        let bytes = content(10_000, seed: 4)
        let digest = try await store.put(bytes, digest: Digest.sha256(of: bytes), mediaType: nil).digest
        try await store.quarantine(digest)
        #expect(try await store.scrub(digest) == .gone)
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
