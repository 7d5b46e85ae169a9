import LayoverMetrics
import LayoverStore
import LayoverUpstream
import LayoverWire

extension PullService {
    /// A blob for `repository`: from the store when held (and the repository is known to hold
    /// it), else streamed from the one shared upstream download.
    ///
    /// A `ranged` request (one that will be answered with a part of the blob) is answered from verified bytes only: during a download it waits
    /// for the commit and is then served from the store (the caller applies the range). A range
    /// is never cut from the growing file, whose bytes are not yet checked against the digest.
    /// When the store has no room, the whole blob streams through (the range ignored, as RFC 9110
    /// allows), its digest still checked before the last bytes go out. A miss that starts the
    /// download asks the digest's owner first when `askPeers` (false for a peer's request: one hop).
    public func blob(_ client: RegistryClient, _ repository: RepositoryKey, _ digest: Digest,
                     withBody: Bool, ranged: Bool = false, askPeers: Bool = true) async throws(PullError) -> BlobAnswer {
        // A HEAD while the upstream cannot be asked: unknown, so a pushing client uploads it.
        let unreachable = withBody ? nil : { (error: UpstreamError) in PullError.blobUnknownUpstreamDown(digest, reason: "\(error)") }
        // Deleted here, its deletion not yet upstream: gone, whatever the upstream still says.
        if store.isDeleted(repository, digest.description) { throw .blobUnknown(digest) }
        if store.record(for: digest) != nil, let answer = try await storedAnswer(client, repository, digest, withBody: withBody, unreachable: unreachable) {
            Telemetry.lookup(.blob, hit: true)
            return answer
        }
        Telemetry.lookup(.blob, hit: false)
        if !withBody {
            do {
                let size = try await client.headBlob(repository.repository, digest)
                try? await store.link(repository, digest)
                return .upstreamHead(size: size)
            } catch .notFound {
                throw .blobUnknown(digest)
            } catch {
                if let unreachable, error.allowsStaleAnswer { throw unreachable(error) }
                throw .upstream(error)
            }
        }
        guard let fetch = try await joinFetch(client, repository, digest, askPeers: askPeers) else {
            // Stored since it was looked for: a download committed meanwhile.
            guard let answer = try await storedAnswer(client, repository, digest, withBody: true, unreachable: unreachable) else {
                throw .store("blob \(digest) left the store as it was committed")
            }
            return answer
        }
        if ranged {
            switch await fetch.waitForEnd() {
            case .success:
                guard let lease = store.lease(digest) else { throw .store("blob \(digest) left the store as it was committed") }
                return .stored(lease.record, lease)
            case .failure(let failure):
                return try await answer(to: failure, client, repository, digest)
            }
        }
        switch await fetch.waitForStart() {
        case .success(let size):
            return .streaming(size: size, source: FetchReader(fetch: fetch))
        case .failure(let failure):
            return try await answer(to: failure, client, repository, digest)
        }
    }

    /// The stored blob for `repository` (the upstream asked first whether `repository` holds it,
    /// unless that is known), leased when `withBody`; nil when it left the store meanwhile.
    private func storedAnswer(_ client: RegistryClient, _ repository: RepositoryKey, _ digest: Digest, withBody: Bool,
                              unreachable: ((UpstreamError) -> PullError)?) async throws(PullError) -> BlobAnswer? {
        try await confirmLink(repository, digest, unknown: .blobUnknown(digest), unreachable: unreachable) { () async throws(UpstreamError) in
            _ = try await client.headBlob(repository.repository, digest)
        }
        return storedAnswer(digest, withBody: withBody)
    }

    /// A blob answered from memory alone: stored here, `repository` known to hold it without
    /// asking the index or the upstream, and not deleted here; leased when `withBody`. Nil when
    /// answering needs more; `blob(_:_:_:withBody:ranged:askPeers:)` then answers. Counted as a hit.
    public func storedBlob(_ repository: RepositoryKey, _ digest: Digest, withBody: Bool) -> BlobAnswer? {
        guard !store.isDeleted(repository, digest.description), store.isLinkRemembered(repository, digest),
              let answer = storedAnswer(digest, withBody: withBody) else { return nil }
        Telemetry.lookup(.blob, hit: true)
        return answer
    }

    /// The stored blob, leased when `withBody`; nil when it is not stored.
    private func storedAnswer(_ digest: Digest, withBody: Bool) -> BlobAnswer? {
        if withBody {
            return store.lease(digest).map { .stored($0.record, $0) }
        }
        guard let record = store.record(for: digest) else { return nil }
        store.touch(digest)
        return .stored(record, nil)
    }

    /// The shared download of `digest` for `repository`: joined at once when it runs through the
    /// same repository (or none runs, and this call starts one through it); joined after the
    /// upstream confirms `repository` holds the digest when it runs through another. Nil when
    /// the digest is stored meanwhile (a download committed since the caller looked).
    private func joinFetch(_ client: RegistryClient, _ repository: RepositoryKey,
                           _ digest: Digest, askPeers: Bool) async throws(PullError) -> InflightFetch? {
        var confirmed = false
        while true {
            switch fetcher.join(digest, repository: repository, client: client, confirmed: confirmed, askPeers: askPeers) {
            case .joined(let fetch, let started):
                if !started { Telemetry.coalesced() }
                return fetch
            case .stored:
                Telemetry.coalesced()
                return nil
            case .confirmFirst:
                try await confirmLink(repository, digest, unknown: .blobUnknown(digest)) { () async throws(UpstreamError) in
                    _ = try await client.headBlob(repository.repository, digest)
                }
                confirmed = true
            }
        }
    }

    /// What a client gets when the shared download failed before it could be served.
    private func answer(to failure: FetchMachine.Failure, _ client: RegistryClient, _ repository: RepositoryKey,
                        _ digest: Digest) async throws(PullError) -> BlobAnswer {
        switch failure {
        case .notFound:
            throw .blobUnknown(digest)
        case .noSpace:
            return try await passThrough(client, repository, digest)
        case .upstream(let error):
            throw .upstream(error)
        case .corrupt(let detail):
            throw .upstream(.protocolViolation("the upstream's bytes do not match \(digest): \(detail)"))
        case .store(let detail):
            throw .store(detail)
        }
    }

    /// Streams a blob straight through, uncached, when the store has no room for it.
    private func passThrough(_ client: RegistryClient, _ repository: RepositoryKey,
                             _ digest: Digest) async throws(PullError) -> BlobAnswer {
        do {
            let download = try await client.getBlob(repository.repository, digest)
            return .streaming(size: download.size, source: PassThroughReader(body: download.body, expected: digest, upstream: client.upstream.name))
        } catch .notFound {
            throw .blobUnknown(digest)
        } catch {
            throw .upstream(error)
        }
    }
}
