import CoreMetrics

extension Telemetry {
    enum ScrubCounters {
        static let bytes = Counter(label: "layover_scrub_bytes_total")
        static let quarantined = Counter(label: "layover_scrub_quarantined_total")
    }

    /// Bytes a scrub (online `verify`, the background scrub) re-read and hashed.
    public static func scrubbed(bytes: Int) {
        ScrubCounters.bytes.increment(by: Int64(bytes))
    }

    /// A blob a scrub found corrupt and took out of service.
    public static func quarantined() {
        ScrubCounters.quarantined.increment()
    }
}
