import LayoverMetrics
import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging
import Synchronization

/// Starts at most one upstream download per digest and hands every concurrent request the same
/// `InflightFetch`.
///
/// The download runs in its own task, not the requester's: a client that goes away does not stop
/// it for the others, and the fill completes (or fails) on its own terms.
final class BlobFetcher: Sendable {
    private let inflight = Mutex<[Digest: InflightFetch]>([:])
    private let store: BlobStore
    private let logger: Logger

    init(store: BlobStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// The download in flight for `digest`, if any.
    func existing(_ digest: Digest) -> InflightFetch? {
        inflight.withLock { $0[digest] }
    }

    /// Joins the download of `digest`, starting it through `repository` when none is running.
    /// Returns the fetch and whether this call started it.
    func join(_ digest: Digest, repository: RepositoryKey, client: RegistryClient) -> (InflightFetch, started: Bool) {
        let (fetch, started) = inflight.withLock { map in
            if let fetch = map[digest] { return (fetch, false) }
            let fetch = InflightFetch(digest: digest, repository: repository)
            map[digest] = fetch
            return (fetch, true)
        }
        if started {
            Task.detached { [self] in
                await run(fetch, client: client)
                inflight.withLock { map in
                    if map[digest] === fetch { map[digest] = nil }
                }
            }
        }
        return (fetch, started)
    }

    private func run(_ fetch: InflightFetch, client: RegistryClient) async {
        var logger = logger
        logger[metadataKey: "digest"] = "\(fetch.digest)"
        logger[metadataKey: "repository"] = "\(fetch.repository)"
        let download: BlobDownload
        do {
            download = try await client.getBlob(fetch.repository.repository, fetch.digest)
        } catch .notFound {
            fetch.failed(.notFound)
            return
        } catch {
            fetch.failed(.upstream(error))
            return
        }
        let writer: IngestWriter
        do {
            writer = try await store.beginIngest(algorithm: fetch.digest.algorithm, expectedSize: download.size)
        } catch .diskFull {
            logger.warning("store full: blob will be streamed through uncached")
            fetch.failed(.noSpace)
            return
        } catch {
            fetch.failed(.store("\(error)"))
            return
        }
        guard let file = SharedDescriptor(path: writer.path) else {
            writer.abort()
            fetch.failed(.store("cannot reopen ingest file"))
            return
        }
        fetch.started(size: download.size, file: file)
        do {
            for try await chunk in download.body {
                try chunk.withUnsafeReadableBytes { try writer.write($0) }
                fetch.appended(Int64(chunk.readableBytes))
                Telemetry.fetched(chunk.readableBytes, upstream: client.upstream.name)
            }
        } catch {
            writer.abort()
            logger.warning("upstream download failed", metadata: ["error": "\(error)"])
            fetch.failed(error as? StoreError == .diskFull ? .store("disk full") : .upstream(.unavailable("body failed: \(error)")))
            return
        }
        do {
            _ = try await writer.commit(expected: fetch.digest, expectedSize: download.size)
            try await store.link(fetch.repository, fetch.digest)
            fetch.committed()
        } catch {
            logger.error("downloaded blob rejected", metadata: ["error": "\(error)"])
            fetch.failed(.corrupt("\(error)"))
        }
    }
}
