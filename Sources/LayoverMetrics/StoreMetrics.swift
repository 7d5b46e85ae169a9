import CoreMetrics

extension Telemetry {
    enum StoreGauges {
        static let bytes = Gauge(label: "layover_store_bytes")
        static let files = Gauge(label: "layover_store_files")
        static let budget = Gauge(label: "layover_store_budget_bytes")
        static let evictions = Counter(label: "layover_store_evictions_total")
        static let evictedBytes = Counter(label: "layover_store_evicted_bytes_total")
        static let orphanedBytes = Gauge(label: "layover_store_orphaned_bytes")
        static let orphansEvicted = Counter(label: "layover_store_orphans_evicted_total")
        static let orphanBytesEvicted = Counter(label: "layover_store_orphan_evicted_bytes_total")
    }

    /// The store's usage, set before each scrape.
    public static func store(bytes: Int64, files: Int, budget: Int64, orphanedBytes: Int64 = 0) {
        StoreGauges.orphanedBytes.record(orphanedBytes)
        StoreGauges.bytes.record(bytes)
        StoreGauges.files.record(files)
        StoreGauges.budget.record(budget)
    }

    /// Blobs evicted, `orphans` of them (and `orphanBytes` of their bytes) orphans.
    public static func evicted(blobs: Int, bytes: Int64, orphans: Int = 0, orphanBytes: Int64 = 0) {
        StoreGauges.evictions.increment(by: Int64(blobs))
        StoreGauges.evictedBytes.increment(by: bytes)
        if orphans > 0 {
            StoreGauges.orphansEvicted.increment(by: Int64(orphans))
            StoreGauges.orphanBytesEvicted.increment(by: orphanBytes)
        }
    }
}
