import CoreMetrics

extension Telemetry {
    enum StoreGauges {
        static let bytes = Gauge(label: "layover_store_bytes")
        static let files = Gauge(label: "layover_store_files")
        static let budget = Gauge(label: "layover_store_budget_bytes")
        static let evictions = Counter(label: "layover_store_evictions_total")
        static let evictedBytes = Counter(label: "layover_store_evicted_bytes_total")
    }

    /// The store's usage, set before each scrape.
    public static func store(bytes: Int64, files: Int, budget: Int64) {
        StoreGauges.bytes.record(bytes)
        StoreGauges.files.record(files)
        StoreGauges.budget.record(budget)
    }

    /// Blobs evicted by the LRU.
    public static func evicted(blobs: Int, bytes: Int64) {
        StoreGauges.evictions.increment(by: Int64(blobs))
        StoreGauges.evictedBytes.increment(by: bytes)
    }
}
