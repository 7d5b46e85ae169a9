import LayoverWire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Content being written into the store: appended, hashed as it arrives, and made visible only by
/// `commit`, which verifies the digest, fsyncs and renames the file into place.
///
/// One writer owns it; concurrent readers may `pread` the file at `path` up to what the writer has
/// announced to them (the fetch coordinator does that). Not safe for concurrent writers.
public final class IngestWriter: @unchecked Sendable {
    /// The growing file; readers may open it while it is written.
    public let path: String
    /// Bytes appended so far.
    public private(set) var written: Int64 = 0
    private let descriptor: Int32
    private var hasher: DigestHasher
    private let algorithm: Digest.Algorithm
    private let store: BlobStore
    /// Budget reserved for this content so far; uploads of unknown size grow it as they arrive.
    public private(set) var reservation: Int64
    private var finished = false

    init(path: String, algorithm: Digest.Algorithm, reservation: Int64, store: BlobStore) throws(StoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw errno == ENOSPC ? .diskFull : .io(operation: "create \(path)", errno: errno)
        }
        self.path = path
        self.descriptor = fd
        self.algorithm = algorithm
        self.hasher = DigestHasher(algorithm)
        self.reservation = reservation
        self.store = store
    }

    /// Appends `bytes`. On failure (disk full included) nothing of them is kept: the file is cut
    /// back to what was written before, and neither `written` nor the digest includes them, so the
    /// upload can be resumed or aborted.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        precondition(!finished, "write after commit or abort")
        var offset = 0
        while offset < bytes.count {
            let count = pwrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset, off_t(written) + off_t(offset))
            if count < 0 {
                if errno == EINTR { continue }
                let error: StoreError = errno == ENOSPC || errno == EDQUOT ? .diskFull : .io(operation: "write \(path)", errno: errno)
                _ = ftruncate(descriptor, off_t(written))
                throw error
            }
            offset += count
        }
        hasher.update(bytes)
        written += Int64(bytes.count)
    }

    /// Reserves budget for what was written beyond the reservation (an upload of unknown size).
    /// Throws `diskFull` when pinned and reserved bytes would exceed the budget: nothing could be
    /// evicted to make room.
    public func reserveWritten() async throws(StoreError) {
        guard written > reservation else { return }
        let step = written - reservation
        try await store.reserve(step)
        reservation += step
    }

    /// Appends a byte array; see `write(_:)`.
    public func write(_ bytes: [UInt8]) throws(StoreError) {
        let failure: StoreError? = bytes.withUnsafeBytes { buffer in
            do throws(StoreError) {
                try write(buffer)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// The digest of everything written so far.
    public var currentDigest: Digest { hasher.finalize() }

    /// Verifies the content against `expected` (and `expectedSize` when given), makes it durable and
    /// visible, and records it in the index; with `hold`, held for a pushed manifest to come, in the
    /// same index transaction. On any mismatch the file is removed and nothing is kept.
    public func commit(expected: Digest, expectedSize: Int64? = nil, mediaType: String? = nil,
                       hold: PushHold? = nil) async throws(StoreError) -> BlobRecord {
        precondition(!finished, "commit after commit or abort")
        finished = true
        let actual = hasher.finalize()
        if let expectedSize, expectedSize != written {
            discard()
            throw .sizeMismatch(expected: expectedSize, actual: written)
        }
        guard actual == expected else {
            discard()
            throw .digestMismatch(expected: expected, actual: actual)
        }
        let fd = descriptor
        do {
            try await blocking { () throws(StoreError) in
                guard fsync(fd) == 0 else { throw .io(operation: "fsync", errno: errno) }
            }
        } catch {
            discard()
            throw error
        }
        close(descriptor)
        return try await store.adopt(ingestPath: path, digest: expected, size: written, mediaType: mediaType, reservation: reservation,
                                     hold: hold)
    }

    /// Drops the content: the file is removed and its reservation returned.
    public func abort() {
        guard !finished else { return }
        finished = true
        discard()
    }

    private func discard() {
        close(descriptor)
        FileSystem.remove(path)
        store.release(reservation: reservation)
    }

    deinit {
        if !finished { discard() }
    }
}
