import LayoverMetrics
import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging
import LayoverLocks

/// Starts at most one upstream download per digest and hands every concurrent request the same
/// `InflightFetch`.
///
/// The download runs in its own task, not the requester's: a client that goes away does not stop
/// it for the others, and the fill completes (or fails) on its own terms.
final class BlobFetcher: Sendable {
    private let inflight = Locked<[Digest: InflightFetch]>([:])
    private let store: BlobStore
    /// Asked before the upstream, when the fetch may ask peers; nil outside a fleet.
    private let peers: (any BlobPeers)?
    /// Digests whose bytes from a peer failed their digest: fetched from the upstream from then on,
    /// so a peer with a bad copy costs one failed download, not every one.
    private let distrusted = Locked<Set<Digest>>([])
    private let logger: Logger

    init(store: BlobStore, peers: (any BlobPeers)? = nil, logger: Logger) {
        self.store = store
        self.peers = peers
        self.logger = logger
    }

    /// What `join` decided, in one lock section.
    enum JoinDecision {
        /// The caller reads from `fetch`; `started` when this call started it.
        case joined(InflightFetch, started: Bool)
        /// A download of the digest runs through another repository: the caller's repository
        /// must first be confirmed to hold the digest (then call again with `confirmed`).
        case confirmFirst
        /// The digest is stored (a download committed since the caller looked): serve it from
        /// the store; no download starts.
        case stored
    }

    /// Joins the download of `digest`, starting it through `repository` when none is running.
    /// A download through another repository is joined only once `confirmed` (the upstream said
    /// `repository` holds the digest): checking and joining are one decision, so a fetch that
    /// another repository starts in between is never joined unconfirmed. A download this call
    /// starts asks the digest's owner first when `askPeers` (false for a peer's own request).
    /// A digest stored meanwhile is `.stored`: a caller that looked before a download committed
    /// never starts a second one.
    func join(_ digest: Digest, repository: RepositoryKey, client: RegistryClient, confirmed: Bool,
              askPeers: Bool = true) -> JoinDecision {
        let decision: JoinDecision = inflight.withLock { map in
            if let fetch = map[digest] {
                return fetch.repository == repository || confirmed ? .joined(fetch, started: false) : .confirmFirst
            }
            // A download's blob is recorded before it leaves the map: none there and a record
            // means it committed after the caller looked (or while its repository was confirmed).
            if store.record(for: digest) != nil { return .stored }
            let fetch = InflightFetch(digest: digest, repository: repository)
            map[digest] = fetch
            return .joined(fetch, started: true)
        }
        if case .joined(let fetch, started: true) = decision {
            Task.detached { [self] in
                await run(fetch, client: client, peers: askPeers ? peers : nil)
                inflight.withLock { map in
                    if map[digest] === fetch { map[digest] = nil }
                }
            }
        }
        return decision
    }

    /// Whether a download of `digest` may start at a peer (none of its peers' bytes failed it).
    func asksPeers(for digest: Digest) -> Bool {
        !distrusted.withLock { $0.contains(digest) }
    }

    private func run(_ fetch: InflightFetch, client: RegistryClient, peers: (any BlobPeers)?) async {
        var logger = logger
        logger[metadataKey: "digest"] = "\(fetch.digest)"
        logger[metadataKey: "repository"] = "\(fetch.repository)"
        let download: BlobDownload
        let fromPeer: Bool
        let peers = asksPeers(for: fetch.digest) ? peers : nil
        do {
            if let filled = await peers?.download(fetch.digest, repository: fetch.repository) {
                (download, fromPeer) = (filled, true)
            } else {
                (download, fromPeer) = (try await client.getBlob(fetch.repository.repository, fetch.digest), false)
            }
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
            try await receive(download, into: writer, fetch: fetch, client: client, fromPeer: fromPeer, logger: logger)
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
            logger.error("downloaded blob rejected", metadata: ["error": "\(error)", "fromPeer": "\(fromPeer)"])
            if fromPeer {
                distrusted.withLock { set in
                    if set.count >= 4096 { set.removeAll() }
                    set.insert(fetch.digest)
                }
            }
            fetch.failed(.corrupt("\(error)"))
        }
    }

    /// Writes the download's body into `writer`. When the connection breaks (or stalls past the
    /// client's read timeout) before the announced length, asks again from the byte reached
    /// (`Range`), after a short backoff that grows with breaks in a row; readers see a pause. An
    /// upstream that ignores the range sends the blob again from byte 0, and what is already
    /// written is skipped. The digest is checked at the commit, whatever path the bytes took.
    /// A body from a peer (`fromPeer`) that breaks is continued from the upstream, and counted as
    /// a peer error (`layover_peer_errors_total`).
    private func receive(_ first: BlobDownload, into writer: IngestWriter, fetch: InflightFetch,
                         client: RegistryClient, fromPeer: Bool, logger: Logger) async throws {
        var download = first
        var fromPeer = fromPeer
        var policy = ResumePolicy()
        while true {
            do {
                var skip = writer.written - download.offset
                for try await var chunk in download.body {
                    if skip > 0 {
                        let dropped = min(Int(skip), chunk.readableBytes)
                        chunk.moveReaderIndex(forwardBy: dropped)
                        skip -= Int64(dropped)
                    }
                    guard chunk.readableBytes > 0 else { continue }
                    try chunk.withUnsafeReadableBytes { try writer.write($0) }
                    fetch.appended(Int64(chunk.readableBytes))
                    if fromPeer {
                        Telemetry.peerFilled(chunk.readableBytes)
                    } else {
                        Telemetry.fetched(chunk.readableBytes, upstream: client.upstream.name)
                    }
                }
                if let size = first.size, writer.written < size {
                    throw UpstreamError.unavailable("body ended at \(writer.written) of \(size) bytes")
                }
                return
            } catch let error as StoreError {
                throw error
            } catch {
                let resume = policy.broke(written: writer.written)
                // A peer that broke (or stalled) mid-body failed this fill as one that is not
                // reached does: the rest crosses the upstream link.
                if fromPeer { Telemetry.peerError() }
                guard resume, !Task.isCancelled else { throw error }
                logger.notice("upstream download broke; resuming", metadata: [
                    "error": "\(error)", "offset": "\(writer.written)", "resume": "\(policy.breaksInARow)"])
                try await Task.sleep(for: policy.backoff)
                download = try await client.getBlob(fetch.repository.repository, fetch.digest, from: writer.written)
                fromPeer = false
                Telemetry.resumed(upstream: client.upstream.name)
            }
        }
    }
}
