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
        try await checkReferences(manifest, client: client, repository: repository)
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
                                                  mediaType: manifest.mediaType, needs: storedClosure(of: manifest),
                                                  replicate: mode != .local)
        } catch {
            throw .store("\(error)")
        }
        if let subject = manifest.subject {
            let annotations = manifest.annotations.flatMap { try? JSONEncoder().encode($0) }.map { String(decoding: $0, as: UTF8.self) }
            try? await store.addReferrer(repository, subject: subject.digest, ReferrerRecord(
                digest: manifest.digest, mediaType: manifest.mediaType, size: Int64(manifest.bytes.count),
                artifactType: manifest.artifactType, annotationsJSON: annotations))
        }
        guard let job = recorded.job else { return manifest }
        if mode == .sync {
            if let failure = await queue.enqueueAndWait(job, superseding: recorded.superseded) {
                throw .upstreamRefused(failure)
            }
        } else {
            queue.enqueue(job, superseding: recorded.superseded)
        }
        return manifest
    }

    /// Every reference must be stored here and known to belong to this repository, or be held
    /// upstream by it; otherwise `MANIFEST_BLOB_UNKNOWN` names what is missing.
    private func checkReferences(_ manifest: Manifest, client: RegistryClient, repository: RepositoryKey) async throws(PushError) {
        var missing: [Digest] = []
        for descriptor in manifest.references {
            if store.record(for: descriptor.digest) != nil, (try? await store.isLinked(repository, descriptor.digest)) == true {
                continue
            }
            let isManifest = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList]
                .contains(descriptor.mediaType ?? "")
            let upstreamHas = isManifest
                ? (try? await client.manifestExists(repository.repository, descriptor.digest, mediaType: descriptor.mediaType ?? MediaType.ociManifest)) == true
                : (try? await client.blobExists(repository.repository, descriptor.digest)) == true
            if upstreamHas {
                try? await store.link(repository, descriptor.digest)
            } else {
                missing.append(descriptor.digest)
            }
        }
        if !missing.isEmpty { throw .manifestBlobUnknown(missing) }
    }

    /// The digests a replication of `manifest` reads from the store: its stored references and,
    /// for index children stored here, theirs.
    private func storedClosure(of manifest: Manifest) -> [Digest] {
        var result: [Digest] = []
        var pending = manifest.references
        var seen: Set<Digest> = []
        while let descriptor = pending.popLast() {
            guard seen.insert(descriptor.digest).inserted, let record = store.record(for: descriptor.digest) else { continue }
            result.append(descriptor.digest)
            if let mediaType = record.mediaType, let bytes = store.read(descriptor.digest),
               let child = try? Manifest(bytes: bytes, contentType: mediaType) {
                pending += child.references
            }
        }
        return result
    }
}
