import CoreMetrics

extension Telemetry {
    enum ReplicationGauges {
        static let depth = Gauge(label: "layover_replication_queue_depth")
        static let oldestPending = Gauge(label: "layover_replication_oldest_pending_seconds")
        static let deadLetters = Gauge(label: "layover_replication_dead_letters")
    }

    /// The replication queue as recorded in the index, set before each scrape: jobs waiting
    /// (pending or retrying), the age of the oldest of them, jobs given up on.
    public static func replication(depth: Int, oldestPendingSeconds: Double, deadLetters: Int) {
        ReplicationGauges.depth.record(depth)
        ReplicationGauges.oldestPending.record(oldestPendingSeconds)
        ReplicationGauges.deadLetters.record(deadLetters)
    }
}
