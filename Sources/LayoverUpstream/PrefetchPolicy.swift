/// How the layers of a BuildKit cache manifest are warmed when a client resolves it, per
/// upstream (`prefetch: {cacheManifests: true, maxBytes: 8GiB, concurrency: 4}`).
///
/// BuildKit fetches a cache's layers lazily, one at a time, as cached steps need them; fetching
/// them in the background as soon as the manifest is read turns those round trips into hits.
/// Ordinary images are never prefetched: their clients ask for every layer at once anyway.
public struct PrefetchPolicy: Sendable, Equatable {
    /// Whether resolving a BuildKit cache manifest starts fetches of its missing layers.
    public var cacheManifests: Bool
    /// The most bytes (by the manifest's declared layer sizes) one manifest's prefetch fetches.
    public var maxBytes: Int64
    /// The most layers of one manifest fetched at the same time.
    public var concurrency: Int

    /// 8 GiB: the size of a large `mode=max` cache.
    public static let defaultMaxBytes: Int64 = 8 << 30
    /// BuildKit's own parallelism per registry.
    public static let defaultConcurrency = 4

    public init(cacheManifests: Bool = true, maxBytes: Int64 = defaultMaxBytes, concurrency: Int = defaultConcurrency) {
        self.cacheManifests = cacheManifests
        self.maxBytes = maxBytes
        self.concurrency = concurrency
    }
}
