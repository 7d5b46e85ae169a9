import LayoverStore
import LayoverWire
import NIOCore
import Synchronization

/// One upload in progress: an ingest file that chunks append to, driven by an `UploadMachine`.
///
/// Thread safety: the machine is behind a lock; the writer is touched only by the one request
/// the machine lets in at a time (hence `@unchecked Sendable`).
public final class UploadSession: @unchecked Sendable {
    /// The id clients put in the upload URL.
    public let id: String
    public let repository: RepositoryKey
    let machine: Mutex<UploadMachine>
    private let writer: IngestWriter

    init(id: String, repository: RepositoryKey, writer: IngestWriter, now: Double) {
        self.id = id
        self.repository = repository
        self.writer = writer
        self.machine = Mutex(UploadMachine(now: now))
    }

    /// The `Range` header value for what has been received.
    public var range: String { machine.withLock { $0.rangeHeader } }

    /// Appends a body to the session when its chunk starts at the current offset. When the
    /// client announced the chunk's length (`Content-Range` end) and the body differs, the
    /// upload is a lie: the session is cancelled and its bytes freed.
    func append(_ body: some AsyncSequence<ByteBuffer, any Error>, start: Int64?, expectedCount: Int64? = nil,
                now: @Sendable () -> Double) async throws(PushError) {
        switch machine.withLock({ $0.beginAppend(start: start, now: now()) }) {
        case .unknown: throw .uploadUnknown(id)
        case .busy: throw .uploadBusy
        case .outOfOrder: throw .outOfOrder(range: range)
        case .append: break
        }
        let before = writer.written
        do {
            for try await chunk in body {
                try chunk.withUnsafeReadableBytes { try writer.write($0) }
            }
        } catch let error as StoreError {
            machine.withLock { $0.endAppend(wrote: writer.written - before, now: now()) }
            throw error == .diskFull ? .storeFull : .store("\(error)")
        } catch {
            machine.withLock { $0.endAppend(wrote: writer.written - before, now: now()) }
            throw .bodyFailed("\(error)")
        }
        let wrote = writer.written - before
        machine.withLock { $0.endAppend(wrote: wrote, now: now()) }
        if let expectedCount, expectedCount != wrote {
            cancel()
            throw .sizeMismatch(expected: expectedCount, actual: wrote)
        }
    }

    /// Verifies the content against `digest`, commits it and ends the session. On a mismatch
    /// nothing is kept and the session ends too.
    func commit(_ digest: Digest) async throws(PushError) -> BlobRecord {
        guard machine.withLock({ $0.phase == .open && $0.close() }) else { throw .uploadUnknown(id) }
        do {
            return try await writer.commit(expected: digest)
        } catch .digestMismatch(let expected, let actual) {
            throw .digestMismatch(expected: expected, actual: actual)
        } catch {
            throw .store("\(error)")
        }
    }

    /// Ends the session and frees its bytes.
    func cancel() {
        if machine.withLock({ $0.close() }) { writer.abort() }
    }

    func isExpired(now: Double, timeout: Double) -> Bool {
        machine.withLock { $0.isExpired(now: now, timeout: timeout) }
    }
}
