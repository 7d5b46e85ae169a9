import LayoverMetrics
import LayoverStore
import LayoverUpstream
import LayoverWire

extension PullService {
    /// A blob for `repository`: from the store when held (and the repository is known to hold
    /// it), else streamed from the one shared upstream download. `span` selects a byte range of a
    /// download in progress; a stored blob's range is applied by the caller.
    public func blob(_ client: RegistryClient, _ repository: RepositoryKey, _ digest: Digest,
                     withBody: Bool, range: ByteRangeRequest?) async throws(PullError) -> (BlobAnswer, ByteSpan?) {
        if store.record(for: digest) != nil {
            try await confirmLink(repository, digest) { () async throws(UpstreamError) in
                _ = try await client.headBlob(repository.repository, digest)
            }
            if withBody {
                if let lease = store.lease(digest) {
                    Telemetry.lookup(.blob, hit: true)
                    return (.stored(lease.record, lease), nil)
                }
            } else if let record = store.record(for: digest) {
                store.touch(digest)
                Telemetry.lookup(.blob, hit: true)
                return (.stored(record, nil), nil)
            }
        }
        Telemetry.lookup(.blob, hit: false)
        if !withBody {
            do {
                let size = try await client.headBlob(repository.repository, digest)
                try? await store.link(repository, digest)
                return (.upstreamHead(size: size), nil)
            } catch .notFound {
                throw .blobUnknown(digest)
            } catch {
                throw .upstream(error)
            }
        }
        if let running = fetcher.existing(digest), running.repository != repository {
            try await confirmLink(repository, digest) { () async throws(UpstreamError) in
                _ = try await client.headBlob(repository.repository, digest)
            }
        }
        let (fetch, started) = fetcher.join(digest, repository: repository, client: client)
        if !started { Telemetry.coalesced() }
        switch await fetch.waitForStart() {
        case .success(let size):
            let span = try resolve(range, size: size)
            return (.streaming(size: size, source: FetchReader(fetch: fetch, span: span)), span)
        case .failure(.notFound):
            throw .blobUnknown(digest)
        case .failure(.noSpace):
            return try await passThrough(client, repository, digest)
        case .failure(let failure):
            throw .upstream(.unavailable("\(failure)"))
        }
    }

    private func resolve(_ range: ByteRangeRequest?, size: Int64?) throws(PullError) -> ByteSpan? {
        guard let range, let size else { return nil }
        guard let span = range.resolve(length: size) else { throw .rangeNotSatisfiable(size: size) }
        return span
    }

    /// Streams a blob straight through, uncached, when the store has no room for it.
    private func passThrough(_ client: RegistryClient, _ repository: RepositoryKey,
                             _ digest: Digest) async throws(PullError) -> (BlobAnswer, ByteSpan?) {
        do {
            let download = try await client.getBlob(repository.repository, digest)
            return (.streaming(size: download.size, source: PassThroughReader(body: download.body, expected: digest, upstream: client.upstream.name)), nil)
        } catch .notFound {
            throw .blobUnknown(digest)
        } catch {
            throw .upstream(error)
        }
    }
}
