import Foundation
import LayoverPull
import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging
import NIOCore

/// Accepts pushes: blob uploads in every style real clients use, cross-repository mounts, and
/// manifests, which are checked, stored byte for byte, tagged, and queued for replication in
/// one transaction before the client gets its 201.
///
/// Thread safety: one instance serves every connection.
public final class PushService: Sendable {
    let store: BlobStore
    let upstreams: UpstreamDirectory
    /// The replication queue pushes are recorded in.
    public let queue: ReplicationQueue
    let uploads = UploadRegistry()
    let modes: [String: PushMode]
    /// Seconds an upload may stay idle before its bytes are freed.
    public let uploadTimeout: Double
    /// Upload sessions open at once, at most; each holds a file descriptor.
    public let maximumUploads: Int
    /// Upload sessions one client (by address) may hold open at once.
    public let maximumUploadsPerClient: Int
    /// The largest blob upload accepted, in bytes (`413` beyond it); nil: only the budget.
    public let maximumUploadBytes: Int64?
    let clock: @Sendable () -> Double
    let logger: Logger

    public init(store: BlobStore, upstreams: UpstreamDirectory, queue: ReplicationQueue, modes: [String: PushMode] = [:],
                uploadTimeout: Double = 900, maximumUploads: Int = 1024, maximumUploadsPerClient: Int = 256,
                maximumUploadBytes: Int64? = nil, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                logger: Logger = Logger(label: "layover.push")) {
        self.store = store
        self.upstreams = upstreams
        self.queue = queue
        self.modes = modes
        self.uploadTimeout = uploadTimeout
        self.maximumUploads = maximumUploads
        self.maximumUploadsPerClient = maximumUploadsPerClient
        self.maximumUploadBytes = maximumUploadBytes
        self.clock = clock
        self.logger = logger
    }

    /// The replication mode of `upstream`.
    public func mode(of upstream: String) -> PushMode { modes[upstream] ?? .async }

    /// Opens an upload session for `client` (its address; nil when unknown), within the total
    /// and per-client caps.
    public func startUpload(_ repository: RepositoryKey, client: String? = nil) async throws(PushError) -> UploadSession {
        try checkRoom()
        guard uploads.count < maximumUploads else { throw .tooManyUploads(maximumUploads) }
        if let client, uploads.count(of: client) >= maximumUploadsPerClient { throw .tooManyClientUploads(maximumUploadsPerClient) }
        let writer: IngestWriter
        do {
            writer = try await store.beginIngest(expectedSize: nil)
        } catch {
            throw error == .diskFull ? .storeFull : .store("\(error)")
        }
        let session = UploadSession(id: UUID().uuidString.lowercased(), repository: repository, client: client,
                                    maximumBytes: maximumUploadBytes, writer: writer, now: clock())
        do {
            try uploads.admit(session, maximum: maximumUploads, perClient: maximumUploadsPerClient)
        } catch {
            session.cancel()
            throw error
        }
        return session
    }

    /// The open session `id` of `repository`.
    public func session(_ id: String, in repository: RepositoryKey) throws(PushError) -> UploadSession {
        guard let session = uploads.session(id, in: repository) else { throw .uploadUnknown(id) }
        return session
    }

    /// Appends a chunk (`PATCH`); `range` from `Content-Range` (its end optional), nil to append
    /// at the current offset. A chunk whose length differs from its range cancels the upload,
    /// and so does one the budget cannot hold.
    public func append(_ id: String, in repository: RepositoryKey, range: (start: Int64, end: Int64?)?,
                       body: some AsyncSequence<ByteBuffer, any Error>) async throws(PushError) -> UploadSession {
        let session = try session(id, in: repository)
        var expectedCount: Int64?
        if let range, let end = range.end {
            let (difference, overflow) = end.subtractingReportingOverflow(range.start)
            guard !overflow, difference < Int64.max else { throw .rangeInvalid("\(range.start)-\(end)") }
            expectedCount = difference + 1
        }
        do {
            try await session.append(body, start: range?.start, expectedCount: expectedCount, now: clock)
        } catch {
            if [.storeFull, .uploadUnknown(id)].contains(error) || error.isSizeMismatch { uploads.remove(id) }
            throw error
        }
        return session
    }

    /// Completes an upload (`PUT ?digest=`), with a last chunk in `body` (possibly empty): the
    /// content is verified and committed, then held for `repository`'s manifest.
    public func finish(_ id: String, in repository: RepositoryKey, digest: Digest,
                       body: some AsyncSequence<ByteBuffer, any Error>) async throws(PushError) -> BlobRecord {
        let session = try session(id, in: repository)
        do {
            try await session.append(body, start: nil, closing: true, now: clock)
        } catch {
            if error != .uploadBusy { uploads.remove(id) }
            throw error
        }
        uploads.remove(id)
        return try await session.commit(digest, hold: PushHold(repository: repository, seconds: uploadTimeout))
    }

    /// A single `POST ?digest=` carrying the whole blob. Its session has no id the client
    /// knows, so whatever fails frees its bytes at once.
    public func monolithic(_ repository: RepositoryKey, digest: Digest, client: String? = nil,
                           body: some AsyncSequence<ByteBuffer, any Error>) async throws(PushError) -> BlobRecord {
        let session = try await startUpload(repository, client: client)
        do {
            return try await finish(session.id, in: repository, digest: digest, body: body)
        } catch {
            uploads.remove(session.id)
            session.cancel()
            throw error
        }
    }

    /// Cancels an upload (`DELETE`) and frees its bytes; a request still writing to it ends
    /// with `BLOB_UPLOAD_UNKNOWN` at its next chunk.
    public func cancel(_ id: String, in repository: RepositoryKey) throws(PushError) {
        let session = try session(id, in: repository)
        uploads.remove(id)
        session.cancel()
    }

    /// A cross-repository mount: true (201) when the blob is stored here and `source` (or the
    /// target itself) is known to hold it; the target is then known to hold it too, and holds it
    /// for its manifest like an upload.
    public func mount(_ digest: Digest, into repository: RepositoryKey, from source: RepositoryName) async -> Bool {
        guard let lease = store.lease(digest) else { return false }
        defer { lease.release() }
        let sourceKey = RepositoryKey(upstream: repository.upstream, repository: source)
        let sourceHolds = (try? await store.isLinked(sourceKey, digest)) == true
        let targetHolds = (try? await store.isLinked(repository, digest)) == true
        guard sourceHolds || targetHolds else { return false }
        do {
            try await store.holdForPush([digest], in: repository, seconds: uploadTimeout)
        } catch {
            return false
        }
        return true
    }

    /// Expires idle upload sessions; returns how many were freed.
    @discardableResult
    public func sweepUploads() -> Int {
        uploads.sweep(now: clock(), timeout: uploadTimeout)
    }

    /// Refuses new pushes when the store is full of content not yet replicated.
    func checkRoom() throws(PushError) {
        if store.pinnedBytes >= store.budget.maxBytes { throw .storeFull }
    }
}
