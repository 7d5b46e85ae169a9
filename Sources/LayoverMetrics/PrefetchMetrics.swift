import CoreMetrics

/// How one prefetched layer ended.
public enum PrefetchResult: String, Sendable, CaseIterable {
    /// Fetched and committed (or joined a fetch that committed).
    case fetched
    /// The fetch failed; a client's request for it starts again.
    case failed
    /// Left out: past the manifest's byte cap.
    case capped
}

extension Telemetry {
    enum Prefetch {
        static let manifests = Counter(label: "layover_prefetch_manifests_total")
        static let layers: [PrefetchResult: Counter] = Dictionary(uniqueKeysWithValues: PrefetchResult.allCases.map {
            ($0, Counter(label: "layover_prefetch_layers_total", dimensions: [("result", $0.rawValue)]))
        })
        static let bytes = Counter(label: "layover_prefetch_bytes_total")
    }

    /// A resolved BuildKit cache manifest whose missing layers are being warmed.
    public static func prefetchStarted() {
        Prefetch.manifests.increment()
    }

    /// `count` prefetched layers ended as `result`; `bytes` (declared sizes) for fetched ones.
    public static func prefetched(_ result: PrefetchResult, count: Int = 1, bytes: Int64 = 0) {
        guard count > 0 else { return }
        Prefetch.layers[result]?.increment(by: Int64(count))
        if bytes > 0 { Prefetch.bytes.increment(by: bytes) }
    }
}
