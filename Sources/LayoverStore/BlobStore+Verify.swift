import Foundation
import LayoverWire
#if canImport(Glibc)
import Glibc
#endif

extension BlobStore {
    /// Every blob the index holds.
    public var records: [BlobRecord] { state.withLock { Array($0.records.values) } }

    /// Re-reads `record`'s file and hashes it, calling `progress` with each count of bytes read.
    /// Returns nil when the file is intact, else what is wrong with it.
    public func check(_ record: BlobRecord, progress: (Int) -> Void = { _ in }) -> String? {
        do {
            let hasher = try FileHasher(path: layout.blobPath(for: record.digest), algorithm: record.digest.algorithm)
            let (actual, size) = try hasher.hashToEnd(progress: progress)
            return Self.problem(record, actual: actual, size: size)
        } catch {
            return "\(error)"
        }
    }

    /// What is wrong with `record`'s file when it hashed to `actual` over `size` bytes; nil if nothing.
    static func problem(_ record: BlobRecord, actual: Digest, size: Int64) -> String? {
        if size != record.size { return "size \(size), index says \(record.size)" }
        return actual == record.digest ? nil : "content hashes to \(actual)"
    }

    /// Takes a corrupt blob out of service: its file moves to `quarantine/` (kept for inspection,
    /// outside the budget), its row leaves the index. The next pull fetches it again.
    /// Returns where the file went.
    @discardableResult
    public func quarantine(_ digest: Digest) async throws(StoreError) -> String {
        try FileSystem.makeDirectories(layout.quarantineDirectory)
        let destination = layout.quarantinePath(for: digest)
        let source = layout.blobPath(for: digest)
        if rename(source, destination) != 0, errno != ENOENT {
            throw .io(operation: "rename \(source)", errno: errno)
        }
        state.withLock { $0.remove(digest) }
        try await index.delete([digest])
        return destination
    }
}
