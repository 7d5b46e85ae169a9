import Foundation
import LayoverPull
import LayoverStore
import LayoverUpstream
import LayoverWire

extension PushService {
    /// A manifest `PUT`: parsed and size-limited, every reference present here (for this
    /// repository) or upstream, stored byte for byte, the tag moved and a replication job
    /// recorded in one transaction. In `sync` mode, answers only once the upstream accepted it.
    public func putManifest(_ client: RegistryClient, _ repository: RepositoryKey, reference: Reference,
                            bytes: [UInt8], contentType: String?) async throws(PushError) -> Manifest {
        let manifest: Manifest
        do {
            manifest = try Manifest(bytes: bytes, contentType: contentType)
        } catch .manifestTooLarge(let size) {
            throw .manifestTooLarge(size)
        } catch {
            throw .manifestInvalid("\(error)")
        }
        if case .digest(let digest) = reference, !manifest.matches(digest) {
            throw .digestMismatch(expected: digest, actual: manifest.digest)
        }
        // Everything the manifest needs that is stored here is leased from the check on, so that
        // nothing (not even the eviction storing the manifest may start) removes it before the
        // push record pins it.
        let leases = try await checkReferences(manifest, client: client, repository: repository)
        defer { for lease in leases { lease.release() } }
        do {
            _ = try await store.put(manifest.bytes, digest: manifest.digest, mediaType: manifest.mediaType)
        } catch {
            throw error == .diskFull ? .storeFull : .store("\(error)")
        }
        let tag: Tag? = if case .tag(let tag) = reference { tag } else { nil }
        let mode = mode(of: repository.upstream)
        let recorded: (job: ReplicationJob?, superseded: [Int64])
        do {
            recorded = try await store.recordPush(repository: repository, tag: tag, manifest: manifest.digest,
                                                  mediaType: manifest.mediaType, needs: leases.map(\.record.digest),
                                                  replicate: mode != .local)
        } catch {
            throw .store("\(error)")
        }
        if let tag, let cache = CacheLedger.Summary(manifest) { store.caches.pushed(repository, tag.value, cache, at: clock()) }
        if let subject = manifest.subject {
            let annotations = manifest.annotations.flatMap { try? JSONEncoder().encode($0) }.map { String(decoding: $0, as: UTF8.self) }
            try? await store.addReferrer(repository, subject: subject.digest, ReferrerRecord(
                digest: manifest.digest, mediaType: manifest.mediaType, size: Int64(manifest.bytes.count),
                artifactType: manifest.artifactType, annotationsJSON: annotations))
        }
        guard let job = recorded.job else { return manifest }
        if mode == .sync {
            switch await queue.enqueueAndWait(job, superseding: recorded.superseded) {
            case .replicated: break
            case .failed(let reason): throw .upstreamRefused(reason)
            case .superseded(let reason): throw .superseded(reason)
            }
        } else {
            queue.enqueue(job, superseding: recorded.superseded)
        }
        return manifest
    }

    /// Every reference must be stored here and known to belong to this repository, or be held
    /// upstream by it (and not deleted here); otherwise `MANIFEST_BLOB_UNKNOWN` names what is missing. Returns leases on
    /// everything a replication of `manifest` reads from the store: its stored references and,
    /// for index children stored here, theirs.
    private func checkReferences(_ manifest: Manifest, client: RegistryClient,
                                 repository: RepositoryKey) async throws(PushError) -> [BlobLease] {
        var missing: [Digest] = []
        var leases: [Digest: BlobLease] = [:]
        for descriptor in manifest.references where leases[descriptor.digest] == nil {
            if let lease = store.lease(descriptor.digest) {
                leases[descriptor.digest] = lease
                if (try? await store.isLinked(repository, descriptor.digest)) == true { continue }
            }
            // Deleted here and not stored: the upstream's copy is about to go.
            if store.isDeleted(repository, descriptor.digest.description), leases[descriptor.digest] == nil {
                missing.append(descriptor.digest)
                continue
            }
            let upstreamHas = MediaType.isManifest(descriptor.mediaType)
                ? (try? await client.manifestExists(repository.repository, descriptor.digest, mediaType: descriptor.mediaType ?? MediaType.ociManifest)) == true
                : (try? await client.blobExists(repository.repository, descriptor.digest)) == true
            if upstreamHas {
                try? await store.link(repository, descriptor.digest)
            } else {
                missing.append(descriptor.digest)
            }
        }
        guard missing.isEmpty else {
            for lease in leases.values { lease.release() }
            throw .manifestBlobUnknown(missing)
        }
        var pending = Array(leases.values)
        while let lease = pending.popLast() {
            guard let mediaType = lease.record.mediaType, let bytes = store.read(lease.record.digest),
                  let child = try? Manifest(bytes: bytes, contentType: mediaType) else { continue }
            for descriptor in child.references where leases[descriptor.digest] == nil {
                guard let grandchild = store.lease(descriptor.digest) else { continue }
                leases[descriptor.digest] = grandchild
                pending.append(grandchild)
            }
        }
        return Array(leases.values)
    }
}
