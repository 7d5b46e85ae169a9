import CoreMetrics

/// What a cache lookup was for.
public enum CacheKind: String, Sendable {
    case manifest, blob
}

/// How a tag was answered: `checked` (upstream HEAD), `fresh` (within the freshness window, not
/// asked) or `stale` (upstream unavailable, last known digest served).
public enum TagRevalidation: String, Sendable, CaseIterable {
    case checked, fresh, stale
}

extension Telemetry {
    enum Cache {
        /// Indexed by `index(kind, hit)`: no key is built per lookup.
        static let counters: [Counter] = [CacheKind.manifest, .blob].flatMap { kind in
            ["hit", "miss"].map { result in
                Counter(label: "layover_cache_requests_total", dimensions: [("kind", kind.rawValue), ("result", result)])
            }
        }

        static func index(_ kind: CacheKind, hit: Bool) -> Int { (kind == .manifest ? 0 : 2) + (hit ? 0 : 1) }

        static let coalesced = Counter(label: "layover_coalesced_requests_total")
        static let servedFromStore = Counter(label: "layover_served_bytes_total", dimensions: [("source", "store")])
        static let servedFromUpstream = Counter(label: "layover_served_bytes_total", dimensions: [("source", "upstream")])
        static let revalidations: [TagRevalidation: Counter] = Dictionary(uniqueKeysWithValues: TagRevalidation.allCases.map {
            ($0, Counter(label: "layover_tag_revalidations_total", dimensions: [("result", $0.rawValue)]))
        })
    }

    /// A manifest or blob lookup answered from the store (`hit`) or needing the upstream (`miss`).
    public static func lookup(_ kind: CacheKind, hit: Bool) {
        Cache.counters[Cache.index(kind, hit: hit)].increment()
        tally.lookup(kind, hit: hit)
    }

    /// A request that joined a download already in flight instead of starting one.
    public static func coalesced() {
        Cache.coalesced.increment()
        tally.joined()
    }

    /// Body bytes sent to a client: from a stored file, or streamed while downloading.
    public static func served(_ bytes: Int, fromStore: Bool) {
        guard bytes > 0 else { return }
        (fromStore ? Cache.servedFromStore : Cache.servedFromUpstream).increment(by: Int64(bytes))
        tally.served(bytes, fromStore: fromStore)
    }

    /// Body bytes received from `upstream` (blobs and manifests): the egress Layover costs.
    public static func fetched(_ bytes: Int, upstream: String) {
        guard bytes > 0 else { return }
        Counter(label: "layover_upstream_fetched_bytes_total", dimensions: [("upstream", upstream)]).increment(by: Int64(bytes))
        tally.fetched(bytes)
    }

    /// A tag answered, and how.
    public static func tagRevalidation(_ result: TagRevalidation) {
        Cache.revalidations[result]?.increment()
    }
}
