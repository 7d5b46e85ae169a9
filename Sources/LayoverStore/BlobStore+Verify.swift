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
    /// outside the budget), its record and index row go. The next pull fetches it again.
    /// Returns where the file went (or would have gone, when the blob was not stored).
    ///
    /// Safe while the store serves: the blob leaves the records first, and is marked as being
    /// evicted until its file and row are gone, so a fresh copy fetched meanwhile waits (as it
    /// waits for an eviction) and is never the file moved or the row deleted. Readers that
    /// already had the file open keep reading it. A blob no longer stored is left alone.
    @discardableResult
    public func quarantine(_ digest: Digest) async throws(StoreError) -> String {
        let destination = layout.quarantinePath(for: digest)
        var row: Int64 = 0
        while true {
            let (claimed, busy) = state.withLock { state -> (Int64?, Bool) in
                if state.evicting.contains(digest) || state.adopting.contains(digest) { return (nil, true) }
                guard let row = state.records.rowID(of: digest) else { return (nil, false) }
                state.remove(digest)
                state.evicting.insert(digest)
                return (row, false)
            }
            if let claimed {
                row = claimed
                break
            }
            if !busy { return destination }
            try? await Task.sleep(for: .milliseconds(2))
        }
        defer { state.withLock { _ = $0.evicting.remove(digest) } }
        // The row first: a crash before the file moves leaves a file without a row, which the
        // check after the crash hashes and quarantines; it is never served again either way.
        do {
            try await index.delete([(row, digest)])
        } catch {
            state.withLock { $0.filesUnchecked = true }
            throw error
        }
        let source = layout.blobPath(for: digest)
        do throws(StoreError) {
            try FileSystem.makeDirectories(layout.quarantineDirectory)
            if rename(source, destination) != 0, errno != ENOENT {
                throw StoreError.io(operation: "rename \(source)", errno: errno)
            }
        } catch {
            FileSystem.remove(source)
            throw error
        }
        return destination
    }
}
