import Foundation
import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging

/// Answers pulls from the store, going upstream only for what it lacks, once per digest.
///
/// Thread safety: one instance serves every connection; all shared state lives in the store, the
/// fetcher and the single-flight groups, each safe to use concurrently.
public final class PullService: Sendable {
    /// The store answers come from.
    public let store: BlobStore
    /// The upstreams clients may name.
    public let upstreams: UpstreamDirectory
    let fetcher: BlobFetcher
    /// The fleet's other nodes, asked before the upstream on a miss of a manifest by digest.
    let peers: (any BlobPeers)?
    let prefetcher: Prefetcher
    let manifestFetches = SingleFlight<ManifestFetchKey, Manifest>()
    let tagRevalidations = SingleFlight<TagKey, ManifestHead>()
    let negotiatedTags = NegotiatedTags()
    let clock: @Sendable () -> Double
    let logger: Logger

    /// - Parameter peers: the fleet's other nodes, asked before the upstream on a miss of a blob
    ///   or of a manifest by digest (peer fill); nil for a fleet of one.
    public init(store: BlobStore, upstreams: UpstreamDirectory, peers: (any BlobPeers)? = nil,
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                logger: Logger = Logger(label: "layover.pull")) {
        self.store = store
        self.upstreams = upstreams
        self.clock = clock
        self.logger = logger
        self.peers = peers
        let fetcher = BlobFetcher(store: store, peers: peers, logger: logger)
        self.fetcher = fetcher
        self.prefetcher = Prefetcher(store: store, fetcher: fetcher, clock: clock, logger: logger)
    }

    struct ManifestFetchKey: Hashable, Sendable {
        var repository: RepositoryKey
        var digest: Digest
    }

    struct TagKey: Hashable, Sendable {
        var repository: RepositoryKey
        var tag: Tag
        var accept: [String]
    }
}

/// A manifest answer: what the headers need, and the stored file for a body.
public struct ManifestAnswer: Sendable {
    public var digest: Digest
    public var mediaType: String
    public var size: Int64
    /// A lease on the stored manifest; nil for `HEAD`.
    public var body: BlobLease?
    /// True when the upstream could not be asked and the last known tag was served.
    public var stale: Bool
}

/// A blob answer.
public enum BlobAnswer: Sendable {
    /// Stored and verified: serve the file (a lease for `GET`, nil for `HEAD`).
    case stored(BlobRecord, BlobLease?)
    /// Being downloaded: stream it; `size` when the upstream announced it.
    case streaming(size: Int64?, source: ChunkSource)
    /// A `HEAD` answered by the upstream without moving bytes.
    case upstreamHead(size: Int64?)
}
