import LayoverMetrics
import LayoverStore
import LayoverUpstream
import LayoverWire

extension PullService {
    /// A manifest by tag or digest for `repository`.
    ///
    /// By digest: served from the store once the repository is known to hold it (else an upstream
    /// `HEAD` confirms it), fetched once otherwise. By tag: revalidated with an upstream `HEAD`
    /// (concurrent revalidations coalesced; skipped within the upstream's freshness window for a
    /// request with the same `Accept` types as the one that was revalidated);
    /// when the upstream is down or rate limiting, the last known digest is served. A tag or
    /// digest deleted here is unknown until its deletion reached the upstream (and after).
    /// A miss by digest asks the digest's owner in a fleet first when `askPeers` (false for a
    /// peer's request: one hop).
    public func manifest(_ client: RegistryClient, _ repository: RepositoryKey, _ reference: Reference,
                         accept: [String], withBody: Bool, askPeers: Bool = true) async throws(PullError) -> ManifestAnswer {
        switch reference {
        case .digest(let digest):
            return try await manifest(client, repository, digest, accept: accept, withBody: withBody, stale: false, askPeers: askPeers)
        case .tag(let tag):
            return try await manifest(client, repository, tag, accept: accept, withBody: withBody)
        }
    }

    private func manifest(_ client: RegistryClient, _ repository: RepositoryKey, _ tag: Tag,
                          accept: [String], withBody: Bool) async throws(PullError) -> ManifestAnswer {
        let answer = try await resolve(client, repository, tag, accept: accept, withBody: withBody)
        // A `GET` by this digest that follows is the tag's import (BuildKit resolves the tag first).
        store.caches.tagResolved(repository, tag.value, answer.digest)
        return answer
    }

    private func resolve(_ client: RegistryClient, _ repository: RepositoryKey, _ tag: Tag,
                         accept: [String], withBody: Bool) async throws(PullError) -> ManifestAnswer {
        // Deleted here, its deletion not yet upstream: not revived by revalidation.
        if store.isDeleted(repository, tag.value) { throw .manifestUnknown("\(repository):\(tag)") }
        let known = try? await store.tag(repository, tag)
        if let known, known.pushPending, store.record(for: known.digest) != nil {
            // Pushed through Layover and not yet replicated: read-your-writes.
            Telemetry.tagRevalidation(.fresh)
            return try await manifest(client, repository, known.digest, accept: accept, withBody: withBody, stale: false)
        }
        let window = client.upstream.tagFreshnessSeconds
        if window > 0, let digest = negotiatedTags.fresh(repository, tag, accept: accept, now: clock(), window: window),
           store.record(for: digest) != nil {
            Telemetry.tagRevalidation(.fresh)
            return try await manifest(client, repository, digest, accept: accept, withBody: withBody, stale: false)
        }
        let head: ManifestHead
        do {
            head = try await tagRevalidations.run(TagKey(repository: repository, tag: tag, accept: accept)) { [store] in
                do {
                    return try await client.headManifest(repository.repository, .tag(tag), accept: accept)
                } catch UpstreamError.protocolViolation {
                    // Registries that answer HEAD without a digest: fetch by tag, digest the bytes.
                    let manifest = try await client.getManifest(repository.repository, .tag(tag), accept: accept)
                    Telemetry.fetched(manifest.bytes.count, upstream: client.upstream.name)
                    _ = try await store.put(manifest.bytes, digest: manifest.digest, mediaType: manifest.mediaType)
                    try await store.link(repository, manifest.digest)
                    return ManifestHead(digest: manifest.digest, mediaType: manifest.mediaType, size: Int64(manifest.bytes.count))
                }
            }
        } catch let error as UpstreamError {
            if error.allowsStaleAnswer, let known, MediaType.isAccepted(known.mediaType, by: accept),
               store.record(for: known.digest) != nil {
                Telemetry.tagRevalidation(.stale)
                logger.notice("upstream unavailable, serving last known tag",
                              metadata: ["repository": "\(repository)", "tag": "\(tag)", "error": "\(error)"])
                return try await manifest(client, repository, known.digest, accept: accept, withBody: withBody, stale: true)
            }
            if error == .notFound { throw .manifestUnknown("\(repository):\(tag)") }
            throw .upstream(error)
        } catch {
            throw .upstream(.unavailable("\(error)"))
        }
        Telemetry.tagRevalidation(.checked)
        let answer = try await manifest(client, repository, head.digest, accept: accept, withBody: withBody, stale: false)
        try? await store.setTag(repository, tag, TagRecord(digest: head.digest, mediaType: answer.mediaType, confirmedAt: clock()))
        if window > 0 { negotiatedTags.record(repository, tag, accept: accept, digest: head.digest, now: clock(), window: window) }
        return answer
    }

    private func manifest(_ client: RegistryClient, _ repository: RepositoryKey, _ digest: Digest,
                          accept: [String], withBody: Bool, stale: Bool, askPeers: Bool = false) async throws(PullError) -> ManifestAnswer {
        let reference = "\(repository)@\(digest)"
        if store.isDeleted(repository, digest.description) { throw .manifestUnknown(reference) }
        let unreachable = withBody ? nil : { (error: UpstreamError) in PullError.manifestUnknownUpstreamDown(reference, reason: "\(error)") }
        if let record = store.record(for: digest), record.mediaType != nil {
            if !stale { try await confirmLink(repository, digest, unknown: .manifestUnknown(reference), unreachable: unreachable) { () async throws(UpstreamError) in
                _ = try await client.headManifest(repository.repository, .digest(digest), accept: accept)
            } }
            if let answer = storedHit(client, repository, digest, withBody: withBody, stale: stale) { return answer }
        }
        Telemetry.lookup(.manifest, hit: false)
        let manifest: Manifest
        do {
            let peers = askPeers ? peers : nil
            manifest = try await manifestFetches.run(ManifestFetchKey(repository: repository, digest: digest)) { [store] in
                let fetched: Manifest
                if let filled = await peers?.manifest(digest, repository: repository, accept: accept) {
                    fetched = filled
                } else {
                    fetched = try await client.getManifest(repository.repository, .digest(digest), accept: accept)
                    Telemetry.fetched(fetched.bytes.count, upstream: client.upstream.name)
                }
                _ = try await store.put(fetched.bytes, digest: digest, mediaType: fetched.mediaType)
                try await store.link(repository, digest)
                await store.recordReferences(of: digest, fetched.references.map(\.digest))
                return fetched
            }
        } catch let error as UpstreamError {
            if error == .notFound { throw .manifestUnknown(reference) }
            if let unreachable, error.allowsStaleAnswer { throw unreachable(error) }
            throw .upstream(error)
        } catch {
            throw .store("\(error)")
        }
        if let answer = answer(for: digest, withBody: withBody, stale: stale) {
            if withBody { prefetcher.resolved(digest, mediaType: answer.mediaType, repository: repository, client: client) }
            return answer
        }
        throw .store("manifest \(manifest.digest) vanished from the store")
    }

    /// A manifest by digest answered from memory alone: stored here, `repository` known to hold it
    /// without asking the index or the upstream, and not deleted here. Nil when answering needs
    /// more; `manifest(_:_:_:accept:withBody:askPeers:)` then answers. Counted as a hit, and the
    /// prefetcher told, as there.
    public func storedManifest(_ client: RegistryClient, _ repository: RepositoryKey, _ digest: Digest,
                               withBody: Bool) -> ManifestAnswer? {
        guard !store.isDeleted(repository, digest.description), store.isLinkRemembered(repository, digest),
              store.record(for: digest)?.mediaType != nil else { return nil }
        return storedHit(client, repository, digest, withBody: withBody, stale: false)
    }

    /// The stored manifest's answer, counted as a hit (a cache manifest's GET tells the
    /// prefetcher); nil when it left the store.
    private func storedHit(_ client: RegistryClient, _ repository: RepositoryKey, _ digest: Digest,
                           withBody: Bool, stale: Bool) -> ManifestAnswer? {
        guard let answer = answer(for: digest, withBody: withBody, stale: stale) else { return nil }
        Telemetry.lookup(.manifest, hit: true)
        if withBody { prefetcher.resolved(digest, mediaType: answer.mediaType, repository: repository, client: client) }
        return answer
    }

    private func answer(for digest: Digest, withBody: Bool, stale: Bool) -> ManifestAnswer? {
        if withBody {
            guard let lease = store.lease(digest), let mediaType = lease.record.mediaType else { return nil }
            return ManifestAnswer(digest: digest, mediaType: mediaType, size: lease.record.size, body: lease, stale: stale)
        }
        guard let record = store.record(for: digest), let mediaType = record.mediaType else { return nil }
        store.touch(digest)
        return ManifestAnswer(digest: digest, mediaType: mediaType, size: record.size, body: nil, stale: stale)
    }

    /// Makes sure `repository` is known to hold `digest`, asking the upstream (no bytes move) the
    /// first time. Content cached through another repository is never served without this; when
    /// the upstream says the repository does not hold it, `unknown` is thrown (a manifest and a
    /// blob are unknown in different words).
    /// `unreachable`, when given, is thrown instead of the upstream's error when the upstream
    /// cannot be asked now (down, rate limiting): a `HEAD` then answers "unknown".
    func confirmLink(_ repository: RepositoryKey, _ digest: Digest, unknown: PullError, unreachable: ((UpstreamError) -> PullError)? = nil,
                     check: () async throws(UpstreamError) -> Void) async throws(PullError) {
        if (try? await store.isLinked(repository, digest)) == true { return }
        do {
            try await check()
        } catch .notFound {
            throw unknown
        } catch {
            if let unreachable, error.allowsStaleAnswer { throw unreachable(error) }
            throw .upstream(error)
        }
        try? await store.link(repository, digest)
    }
}
