import LayoverStore
import LayoverWire
import NIOCore
import LayoverLocks

/// One upload in progress: an ingest file that chunks append to, driven by an `UploadMachine`.
///
/// Thread safety: the machine is behind a lock; the writer is touched only by the one request
/// the machine lets in at a time, or, when the session is idle, by whoever closes it
/// (hence `@unchecked Sendable`).
public final class UploadSession: @unchecked Sendable {
    /// The id clients put in the upload URL.
    public let id: String
    public let repository: RepositoryKey
    /// The address of the client that opened it (for the per-client cap); nil when unknown.
    let client: String?
    /// The largest upload accepted, in bytes; nil: no limit but the budget.
    let maximumBytes: Int64?
    let machine: Locked<UploadMachine>
    private let writer: IngestWriter

    init(id: String, repository: RepositoryKey, client: String? = nil, maximumBytes: Int64? = nil,
         writer: IngestWriter, now: Double) {
        self.id = id
        self.repository = repository
        self.client = client
        self.maximumBytes = maximumBytes
        self.writer = writer
        self.machine = Locked(UploadMachine(now: now))
    }

    /// The `Range` header value for what has been received.
    public var range: String { machine.withLock { $0.rangeHeader } }

    /// Appends a body to the session when its chunk starts at the current offset, reserving
    /// budget as the bytes arrive. When the client announced the chunk's length (`Content-Range`
    /// end) and the body differs, the upload is a lie: the session ends and its bytes are freed.
    /// With `closing` (the final PUT) the session ends after the body, ready for `commit`. An
    /// upload over the budget (`storeFull`) or over `maximumBytes` ends too, its bytes freed.
    /// A cancel that arrives meanwhile is carried out here, at the next chunk.
    func append(_ body: some AsyncSequence<ByteBuffer, any Error>, start: Int64?, expectedCount: Int64? = nil,
                closing: Bool = false, now: @Sendable () -> Double) async throws(PushError) {
        switch machine.withLock({ $0.beginAppend(start: start, now: now()) }) {
        case .unknown: throw .uploadUnknown(id)
        case .busy: throw .uploadBusy
        case .outOfOrder: throw .outOfOrder(range: range)
        case .append: break
        }
        let before = writer.written
        var failure: PushError?
        do {
            for try await chunk in body {
                if machine.withLock({ $0.isCancelled }) { break }
                if let maximumBytes, writer.written + Int64(chunk.readableBytes) > maximumBytes {
                    failure = .uploadTooLarge(maximumBytes)
                    break
                }
                try chunk.withUnsafeReadableBytes { try writer.write($0) }
                try await writer.reserveWritten()
            }
        } catch let error as StoreError {
            failure = error == .diskFull ? .storeFull : .store("\(error)")
        } catch {
            failure = .bodyFailed("\(error)")
        }
        let wrote = writer.written - before
        let lied = failure == nil && expectedCount.map { $0 != wrote } == true
        // An upload the budget or the size limit cannot hold is dropped at once: kept, it
        // would hold the budget.
        let dropped = lied || failure == .storeFull || failure?.isTooLarge == true
        let kept = machine.withLock { $0.endAppend(wrote: wrote, now: now(), close: dropped || (closing && failure == nil)) }
        guard kept else {
            writer.abort()
            throw .uploadUnknown(id)
        }
        if dropped { writer.abort() }
        if let failure { throw failure }
        if lied, let expectedCount { throw .sizeMismatch(expected: expectedCount, actual: wrote) }
    }

    /// Verifies the content against `digest` and commits it, held as `hold` says; only after a
    /// closing `append`. On a mismatch nothing is kept.
    func commit(_ digest: Digest, hold: PushHold) async throws(PushError) -> BlobRecord {
        do {
            return try await writer.commit(expected: digest, hold: hold)
        } catch .digestMismatch(let expected, let actual) {
            throw .digestMismatch(expected: expected, actual: actual)
        } catch {
            throw .store("\(error)")
        }
    }

    /// Ends the session and frees its bytes: now when it is idle, or by its writer at its next
    /// step when a request is writing to it.
    func cancel() {
        if machine.withLock({ $0.close() }) == .dropNow { writer.abort() }
    }

    func isExpired(now: Double, timeout: Double) -> Bool {
        machine.withLock { $0.isExpired(now: now, timeout: timeout) }
    }
}
