import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging

/// Carries one job to its upstream: every blob it needs (HEAD first; a cross-repository mount
/// where another repository there is known to hold it; else streamed from local disk), child
/// manifests before their index, the manifest last. Idempotent: a retry redoes only what the
/// upstream lacks.
struct ReplicationExecutor: Sendable {
    let store: BlobStore
    let client: RegistryClient
    let logger: Logger
    /// Blob uploads running in every job: one blob goes to one repository once at a time.
    let sends: BlobSends
    /// Whether a newer push of the job's tag replaced it meanwhile (then the tag is left alone).
    let isSuperseded: @Sendable () -> Bool
    /// Told the bytes of blob uploads sent so far in this attempt.
    var progress: @Sendable (Int64) -> Void = { _ in }

    /// Why a job failed, and whether trying again can help.
    enum Failure: Error, Equatable {
        /// Worth another attempt, not before `retryAfter` seconds when the upstream said so.
        case transient(String, retryAfter: Double? = nil)
        case permanent(String)
    }

    /// How a job that did not fail ended.
    enum Outcome: Equatable {
        /// The upstream accepted the manifest.
        case replicated
        /// A newer push of the tag replaced the job before its manifest went up; nothing was tagged.
        case superseded
    }

    func run(_ job: ReplicationJob) async throws(Failure) -> Outcome {
        if job.operation.isDeletion { return try await delete(job) }
        guard let bytes = store.read(job.manifestDigest) else {
            throw .permanent("manifest \(job.manifestDigest) is no longer stored")
        }
        let manifest: Manifest
        do { manifest = try Manifest(bytes: bytes, contentType: job.mediaType) } catch {
            throw .permanent("stored manifest is invalid: \(error)")
        }
        let sent = SentBytes()
        return try await push(manifest, reference: job.tag?.value ?? job.manifestDigest.description, to: job.repository,
                              isTop: true, sent: sent)
    }

    private func push(_ manifest: Manifest, reference: String, to repository: RepositoryKey, isTop: Bool = false,
                      sent: SentBytes) async throws(Failure) -> Outcome {
        for descriptor in manifest.references {
            if MediaType.isManifest(descriptor.mediaType) || childManifest(descriptor) != nil {
                try await ensureManifest(descriptor, in: repository, sent: sent)
            } else {
                try await ensureBlob(descriptor.digest, in: repository, sent: sent)
            }
        }
        if isTop, isSuperseded() {
            logger.info("superseded by a newer push; tag left to it", metadata: ["reference": "\(reference)"])
            return .superseded
        }
        try await attempt { () async throws(UpstreamError) in
            try await client.putManifest(repository.repository, reference: reference, bytes: manifest.bytes, mediaType: manifest.mediaType)
        }
        return .replicated
    }

    /// An index's child: pushed (by digest) when the upstream lacks it and it is stored here;
    /// a child neither upstream nor here cannot be replicated.
    private func ensureManifest(_ descriptor: Descriptor, in repository: RepositoryKey, sent: SentBytes) async throws(Failure) {
        let local = childManifest(descriptor)
        let mediaType = local?.mediaType ?? descriptor.mediaType ?? MediaType.ociManifest
        let exists = try await attempt { () async throws(UpstreamError) -> Bool in
            try await client.manifestExists(repository.repository, descriptor.digest, mediaType: mediaType)
        }
        if exists { return }
        guard let local else {
            throw .permanent("child manifest \(descriptor.digest) is neither upstream nor stored here")
        }
        _ = try await push(local, reference: descriptor.digest.description, to: repository, sent: sent)
    }

    /// A descriptor that names a manifest stored here (an index's child), parsed.
    private func childManifest(_ descriptor: Descriptor) -> Manifest? {
        guard let record = store.record(for: descriptor.digest), let mediaType = record.mediaType,
              let bytes = store.read(descriptor.digest) else { return nil }
        return try? Manifest(bytes: bytes, contentType: mediaType)
    }

    private func ensureBlob(_ digest: Digest, in repository: RepositoryKey, sent: SentBytes) async throws(Failure) {
        let key = BlobSends.key(repository, digest)
        while true {
            let exists = try await attempt { () async throws(UpstreamError) -> Bool in
                try await client.blobExists(repository.repository, digest)
            }
            if exists { return }
            if await sends.claim(key) { break }
            // Another job was sending it: it is there now, or that send failed and this one tries.
        }
        defer { sends.end(key) }
        for source in store.repositories(holding: digest, upstream: repository.upstream) where source != repository.repository {
            do {
                if try await client.mountBlob(repository.repository, digest, from: source) {
                    logger.debug("mounted upstream", metadata: ["digest": "\(digest)", "from": "\(source)"])
                    return
                }
            } catch {
                logger.debug("mount refused; uploading instead", metadata: ["digest": "\(digest)", "error": "\(error)"])
            }
        }
        guard let lease = store.lease(digest) else {
            throw .permanent("blob \(digest) is neither upstream nor stored here")
        }
        defer { lease.release() }
        let base = sent.total
        let progress = self.progress
        try await attempt { () async throws(UpstreamError) in
            try await client.uploadBlob(repository.repository, digest, size: lease.record.size, path: lease.path) { bytes in
                progress(base + bytes)
            }
        }
        sent.total = base + lease.record.size
    }

    /// A deletion: the one reference the client deleted, nothing else. A refusal (a registry
    /// that does not delete tags, say) fails the job with the upstream's reason; deleting the
    /// manifest behind a tag instead would delete every other tag pointing to it.
    private func delete(_ job: ReplicationJob) async throws(Failure) -> Outcome {
        let (kind, reference) = switch job.operation {
        case .deleteTag: ("manifests", job.tag?.value ?? job.manifestDigest.description)
        case .deleteBlob: ("blobs", job.manifestDigest.description)
        case .push, .deleteManifest: ("manifests", job.manifestDigest.description)
        }
        try await attempt { () async throws(UpstreamError) in
            try await client.delete(job.repository.repository, kind: kind, reference: reference)
        }
        return .replicated
    }

    private func attempt<T>(_ body: () async throws(UpstreamError) -> T) async throws(Failure) -> T {
        do {
            return try await body()
        } catch .unavailable(let detail) {
            throw .transient(detail)
        } catch .rateLimited(let retryAfter) {
            throw .transient("rate limited (retry after \(retryAfter.map(String.init) ?? "?") s)", retryAfter: retryAfter.map(Double.init))
        } catch {
            throw .permanent("\(error)")
        }
    }

    /// Bytes of blob uploads completed in this attempt.
    private final class SentBytes: @unchecked Sendable {
        var total: Int64 = 0
    }
}
