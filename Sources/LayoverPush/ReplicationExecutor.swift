import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging

/// Carries one job to its upstream: every blob it needs (HEAD first; a cross-repository mount
/// where another repository there is known to hold it; else streamed from local disk), children
/// before parents, the manifest last. Idempotent: a retry redoes only what the upstream lacks.
struct ReplicationExecutor: Sendable {
    let store: BlobStore
    let client: RegistryClient
    let logger: Logger
    /// Whether a newer push of the job's tag replaced it meanwhile (then the tag is left alone).
    let isSuperseded: @Sendable () -> Bool

    /// Why a job failed, and whether trying again can help.
    enum Failure: Error {
        case transient(String)
        case permanent(String)
    }

    func run(_ job: ReplicationJob) async throws(Failure) {
        guard let bytes = store.read(job.manifestDigest) else {
            throw .permanent("manifest \(job.manifestDigest) is no longer stored")
        }
        let manifest: Manifest
        do { manifest = try Manifest(bytes: bytes, contentType: job.mediaType) } catch {
            throw .permanent("stored manifest is invalid: \(error)")
        }
        try await push(manifest, reference: job.tag?.value ?? job.manifestDigest.description, to: job.repository, isTop: true)
    }

    private func push(_ manifest: Manifest, reference: String, to repository: RepositoryKey, isTop: Bool = false) async throws(Failure) {
        for descriptor in manifest.references {
            if let child = childManifest(descriptor) {
                let exists = try await attempt { () async throws(UpstreamError) -> Bool in
                    try await client.manifestExists(repository.repository, descriptor.digest, mediaType: child.mediaType)
                }
                if exists {
                    continue
                }
                try await push(child, reference: descriptor.digest.description, to: repository)
            } else {
                try await ensureBlob(descriptor.digest, in: repository)
            }
        }
        if isTop, isSuperseded() {
            logger.info("superseded by a newer push; tag left to it", metadata: ["reference": "\(reference)"])
            return
        }
        try await attempt { () async throws(UpstreamError) in
            try await client.putManifest(repository.repository, reference: reference, bytes: manifest.bytes, mediaType: manifest.mediaType)
        }
    }

    /// A descriptor that names a manifest stored here (an index's child), parsed.
    private func childManifest(_ descriptor: Descriptor) -> Manifest? {
        guard let record = store.record(for: descriptor.digest), let mediaType = record.mediaType,
              let bytes = store.read(descriptor.digest) else { return nil }
        return try? Manifest(bytes: bytes, contentType: mediaType)
    }

    private func ensureBlob(_ digest: Digest, in repository: RepositoryKey) async throws(Failure) {
        let exists = try await attempt { () async throws(UpstreamError) -> Bool in
            try await client.blobExists(repository.repository, digest)
        }
        if exists { return }
        for source in store.repositories(holding: digest, upstream: repository.upstream) where source != repository.repository {
            if (try? await client.mountBlob(repository.repository, digest, from: source)) == true {
                logger.debug("mounted upstream", metadata: ["digest": "\(digest)", "from": "\(source)"])
                return
            }
        }
        guard let lease = store.lease(digest) else {
            throw .permanent("blob \(digest) is neither upstream nor stored here")
        }
        defer { lease.release() }
        try await attempt { () async throws(UpstreamError) in
            try await client.uploadBlob(repository.repository, digest, size: lease.record.size, path: lease.path)
        }
    }

    private func attempt<T>(_ body: () async throws(UpstreamError) -> T) async throws(Failure) -> T {
        do {
            return try await body()
        } catch .unavailable(let detail) {
            throw .transient(detail)
        } catch .rateLimited(let retryAfter) {
            throw .transient("rate limited (retry after \(retryAfter.map(String.init) ?? "?") s)")
        } catch {
            throw .permanent("\(error)")
        }
    }
}
