import Foundation
import LayoverWire
import Testing
@testable import LayoverStore

/// Eviction removes a blob's record, then its file, then its row; a copy of the same digest
/// committed meanwhile must neither lose its file nor its row (issue 15, found by reading).
@Suite("Eviction races")
final class EvictionRaceTests {
    let scratch = ScratchDirectory()
    var layout: StoreLayout { StoreLayout(root: scratch.path + "/store") }

    @Test("a digest evicted again and again while copies of it are committed: every record keeps its file and row, every file its row, and the blob reads back verified")
    func evictionAgainstCommitsOfTheSameDigest() async throws {
        let size = 64 << 10
        // Room for four copies: the committers' reservations alone push the store to its budget,
        // so every ingest that begins evicts, the digest they write included.
        let store = try BlobStore(layout: layout, budget: StoreBudget(maxBytes: Int64(size) * 4), availableBytes: plentyOfDisk)
        let hot = content(size, seed: 1)
        let hotDigest = Digest.sha256(of: hot)
        for round in 0..<100 {
            let committing = Locked(3)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        defer { committing.withLock { $0 -= 1 } }
                        let writer = try await store.beginIngest(expectedSize: Int64(size))
                        try writer.write(hot)
                        _ = try await writer.commit(expected: hotDigest)
                    }
                }
                group.addTask {
                    let filler = content(size / 2, seed: UInt8(truncatingIfNeeded: round))
                    _ = try await store.put(filler, digest: Digest.sha256(of: filler), mediaType: nil)
                }
                // Evicts the least recently used blob over and over while the copies are committed.
                group.addTask {
                    while committing.withLock({ $0 }) > 0 {
                        await store.evictIfNeeded(extra: Int64(size))
                        await Task.yield()
                    }
                }
                try await group.waitForAll()
            }
            let problems = try inconsistencies(store)
            #expect(problems.isEmpty, "round \(round): \(problems)")
            if !problems.isEmpty { return }
        }
        #expect(store.usage.reserved == 0)
        #expect(store.state.withLock { $0.evicting.isEmpty })

        _ = try await store.put(hot, digest: hotDigest, mediaType: nil)
        #expect(store.read(hotDigest).map { Digest.sha256(of: $0) } == hotDigest)
        for record in store.records { #expect(store.check(record) == nil, "\(record.digest)") }
        // Reopened, the store finds nothing to repair: no row dropped, no file removed.
        let before = Set(store.records.map(\.digest))
        store.close()
        let reopened = try BlobStore(layout: layout, budget: StoreBudget(maxBytes: Int64(size) * 4), availableBytes: plentyOfDisk)
        #expect(Set(reopened.records.map(\.digest)) == before)
        #expect(reopened.read(hotDigest) == hot)
    }

    @Test("a copy of a digest committed while an eviction of many blobs, that digest the last, removes their files and rows: it keeps its own")
    func commitsDuringALongEviction() async throws {
        let store = try BlobStore(layout: layout, budget: StoreBudget(maxBytes: 1 << 30), availableBytes: plentyOfDisk)
        let hot = content(4096, seed: 1)
        let hotDigest = Digest.sha256(of: hot)
        for round in 0..<10 {
            // 64 blobs older than the hot one: an eviction of everything removes the hot one last.
            for index in 0..<64 {
                let filler = content(1000 + index, seed: UInt8(truncatingIfNeeded: round))
                _ = try await store.put(filler, digest: Digest.sha256(of: filler), mediaType: nil)
            }
            _ = try await store.put(hot, digest: hotDigest, mediaType: nil)
            store.touch(hotDigest)
            let committing = Locked(3)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        defer { committing.withLock { $0 -= 1 } }
                        for _ in 0..<4 {
                            let writer = try await store.beginIngest(expectedSize: Int64(hot.count))
                            try writer.write(hot)
                            _ = try await writer.commit(expected: hotDigest)
                        }
                    }
                }
                group.addTask {
                    while committing.withLock({ $0 }) > 0 {
                        await store.evictIfNeeded(extra: 1 << 40)
                        await Task.yield()
                    }
                }
                try await group.waitForAll()
            }
            let problems = try inconsistencies(store)
            #expect(problems.isEmpty, "round \(round): \(problems)")
            if !problems.isEmpty { return }
        }
    }

    /// What disagrees between the records in memory, the index's rows and the files on disk.
    private func inconsistencies(_ store: BlobStore) throws -> [String] {
        let records = store.state.withLock { $0.records }
        let rows = Dictionary(try store.index.allBlobs().map { ($0.digest, $0.size) }) { first, _ in first }
        var files: [Digest: Int64] = [:]
        let root = layout.blobsDirectory + "/sha256"
        for prefix in FileSystem.list(root) {
            for name in FileSystem.list("\(root)/\(prefix)") {
                files[try Digest(parsing: "sha256:\(name)")] = FileSystem.size(of: "\(root)/\(prefix)/\(name)")
            }
        }
        var problems: [String] = []
        for (digest, record) in records {
            if files[digest] != record.size { problems.append("record \(digest) has file of size \(files[digest].map(String.init) ?? "none")") }
            if rows[digest] != record.size { problems.append("record \(digest) has no row") }
        }
        for digest in files.keys where rows[digest] == nil { problems.append("file \(digest) has no row") }
        for digest in rows.keys where records[digest] == nil { problems.append("row \(digest) has no record") }
        return problems
    }
}
