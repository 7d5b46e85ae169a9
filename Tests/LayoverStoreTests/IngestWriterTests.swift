import Foundation
import LayoverWire
import Testing
@testable import LayoverStore

/// The ingest writer when the disk fills up in the middle of a chunk (issue 15, found by reading):
/// a real file system that runs out of room, a small tmpfs.
@Suite("Ingest writer", .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
final class IngestWriterTests {
    let scratch = ScratchDirectory()

    @Test("a chunk the disk fills up during is kept not at all: offset, file size and digest agree, and the chunk retried from there gives the right digest")
    func diskFullMidChunk() async throws {
        let mountPoint = scratch.path + "/small"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try Self.run("/bin/mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint)
        defer { try? Self.run("/bin/umount", "-l", mountPoint) }
        let store = try BlobStore(layout: StoreLayout(root: mountPoint + "/store"), budget: StoreBudget(maxBytes: 1 << 30),
                                  availableBytes: plentyOfDisk)
        // About 512 KiB stay free: the second chunk (1 MiB) is written in part, then the disk is full.
        let filler = mountPoint + "/filler"
        let free = try #require(FileSystem.availableBytes(at: mountPoint))
        #expect(FileManager.default.createFile(atPath: filler, contents: Data(count: Int(free) - (512 << 10))))
        let first = content(100_000, seed: 1), second = content(1 << 20, seed: 2)

        let writer = try await store.beginIngest(expectedSize: nil)
        try writer.write(first)
        #expect(throws: StoreError.diskFull) { try writer.write(second) }
        #expect(writer.written == Int64(first.count), "the offset reported to the client")
        #expect(FileSystem.size(of: writer.path) == writer.written, "the file holds nothing past the offset")
        #expect(writer.currentDigest == Digest.sha256(of: first), "the running hash covers exactly the offset's bytes")

        try FileManager.default.removeItem(atPath: filler)
        try writer.write(second)
        let whole = first + second
        let record = try await writer.commit(expected: Digest.sha256(of: whole))
        #expect(record.size == Int64(whole.count))
        #expect(store.read(record.digest) == whole)
    }

    private static func run(_ executable: String, _ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(executable) \(arguments.joined(separator: " ")) failed")
    }
}
