import LayoverStore
import LayoverUpstream
import LayoverWire

extension PushService {
    /// A client's `DELETE` of a manifest (by digest or tag) or a blob, where the operator allowed
    /// deletion: applied here at once (a tombstone keeps the upstream's copy from coming back
    /// through revalidation), then written back like a push, by a durable job ordered after the
    /// repository's pending pushes (in `local` mode, never). In `sync` mode, returns once the
    /// upstream accepted the deletion. What neither this store nor the upstream holds is unknown.
    public func delete(_ client: RegistryClient, _ repository: RepositoryKey, _ target: DeleteTarget) async throws(PushError) {
        guard !store.isDeleted(repository, target.reference) else { throw unknown(target) }
        let digest = try await existing(client, repository, target)
        let job: ReplicationJob?
        do {
            job = try await store.recordDelete(repository, target, digest: digest, replicate: mode(of: repository.upstream) != .local)
        } catch {
            throw .store("\(error)")
        }
        guard let job else { return }
        logger.info("deletion queued", metadata: ["job": "\(job.id)", "repository": "\(repository)", "reference": "\(target.reference)"])
        guard mode(of: repository.upstream) == .sync else {
            queue.enqueue(job)
            return
        }
        if case .failed(let reason) = await queue.enqueueAndWait(job) { throw .deletionRefused(reason) }
    }

    /// The manifest or blob `target` names, as held here for the repository or upstream.
    private func existing(_ client: RegistryClient, _ repository: RepositoryKey,
                          _ target: DeleteTarget) async throws(PushError) -> Digest {
        switch target {
        case .tag(let tag):
            if let known = try? await store.tag(repository, tag) { return known.digest }
        case .manifest(let digest), .blob(let digest):
            if store.record(for: digest) != nil, (try? await store.isLinked(repository, digest)) == true { return digest }
        }
        do throws(UpstreamError) {
            switch target {
            case .tag(let tag): return try await client.headManifest(repository.repository, .tag(tag), accept: []).digest
            case .manifest(let digest): return try await client.headManifest(repository.repository, .digest(digest), accept: []).digest
            case .blob(let digest):
                guard try await client.blobExists(repository.repository, digest) else { throw .notFound }
                return digest
            }
        } catch .notFound {
            throw unknown(target)
        } catch {
            throw .upstreamUnavailable("\(error)")
        }
    }

    private func unknown(_ target: DeleteTarget) -> PushError {
        if case .blob(let digest) = target { return .blobUnknown(digest) }
        return .manifestUnknown(target.reference)
    }
}
