import CoreMetrics

/// Every metric Layover emits, each named `layover_…`, and the in-process tally the status
/// endpoint reads. Modules call these functions; the executable bootstraps the Prometheus backend.
///
/// Handles with fixed dimensions are created once, on first use, after the backend is bootstrapped
/// (`registerAll()` is called right after bootstrap so every family is exposed from the start).
public enum Telemetry {
    /// The process-wide tally behind `/_layover/status`.
    public static let tally = TrafficTally()

    /// Creates every metric family with fixed dimensions, so a scrape lists them all at zero.
    public static func registerAll() {
        _ = Cache.counters
        _ = Cache.coalesced
        _ = Cache.servedFromStore
        _ = Cache.servedFromUpstream
        _ = Cache.revalidations
        _ = [StoreGauges.bytes, StoreGauges.files, StoreGauges.budget, StoreGauges.orphanedBytes] as [Gauge]
        _ = [StoreGauges.evictions, StoreGauges.evictedBytes, StoreGauges.orphansEvicted, StoreGauges.orphanBytesEvicted] as [Counter]
        _ = Prefetch.layers
        _ = [Prefetch.manifests, Prefetch.bytes] as [Counter]
        _ = [ScrubCounters.bytes, ScrubCounters.quarantined] as [Counter]
        _ = [ReplicationGauges.depth, ReplicationGauges.oldestPending, ReplicationGauges.deadLetters] as [Gauge]
        _ = HTTP.active
    }
}
