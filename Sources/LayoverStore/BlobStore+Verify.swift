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
        let path = layout.blobPath(for: record.digest)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "cannot open \(path): \(String(cString: strerror(errno)))" }
        defer { Glibc.close(fd) }
        var hasher = DigestHasher(record.digest.algorithm)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return "read failed: \(String(cString: strerror(errno)))"
            }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            total += Int64(count)
            progress(count)
        }
        if total != record.size { return "size \(total), index says \(record.size)" }
        let actual = hasher.finalize()
        return actual == record.digest ? nil : "content hashes to \(actual)"
    }

    /// Takes a corrupt blob out of service: its file moves to `quarantine/` (kept for inspection,
    /// outside the budget), its row leaves the index. The next pull fetches it again.
    /// Returns where the file went.
    @discardableResult
    public func quarantine(_ digest: Digest) async throws(StoreError) -> String {
        try FileSystem.makeDirectories(layout.quarantineDirectory)
        let destination = "\(layout.quarantineDirectory)/\(digest.algorithm.rawValue)-\(digest.encoded)"
        let source = layout.blobPath(for: digest)
        if rename(source, destination) != 0, errno != ENOENT {
            throw .io(operation: "rename \(source)", errno: errno)
        }
        state.withLock { $0.remove(digest) }
        try await index.delete([digest])
        return destination
    }
}
