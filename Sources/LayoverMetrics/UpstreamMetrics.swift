import CoreMetrics

extension Telemetry {
    /// Creates `upstream`'s counters at zero, so a scrape lists them before the first error.
    public static func registerUpstream(_ upstream: String) {
        for label in ["layover_upstream_errors_total", "layover_upstream_throttled_total", "layover_upstream_fetched_bytes_total"] {
            Counter(label: label, dimensions: [("upstream", upstream)]).increment(by: 0)
        }
        upstreamDown(upstream, down: false)
    }

    /// One request to `upstream` answered with `status` (nil: no answer, a transport failure).
    public static func upstreamRequest(_ upstream: String, method: String, status: Int?, seconds: Double) {
        Counter(label: "layover_upstream_requests_total",
                dimensions: [("upstream", upstream), ("method", method), ("status", status.map(String.init) ?? "error")]).increment()
        Timer(label: "layover_upstream_request_duration_seconds", dimensions: [("upstream", upstream)])
            .recordNanoseconds(Int64(seconds * 1e9))
        if status == 429 {
            Counter(label: "layover_upstream_throttled_total", dimensions: [("upstream", upstream)]).increment()
        }
        if status == nil || (status ?? 0) >= 500 {
            Counter(label: "layover_upstream_errors_total", dimensions: [("upstream", upstream)]).increment()
        }
    }
}

extension Telemetry {
    /// `layover_upstream_up{upstream}`: 0 while the circuit breaker marks `upstream` down, else 1.
    public static func upstreamDown(_ upstream: String, down: Bool) {
        Gauge(label: "layover_upstream_up", dimensions: [("upstream", upstream)]).record(down ? 0 : 1)
    }
}

extension Telemetry {
    /// `layover_upstream_resumes_total{upstream}`: downloads continued with a `Range` request
    /// after their connection broke or stalled.
    public static func resumed(upstream: String) {
        Counter(label: "layover_upstream_resumes_total", dimensions: [("upstream", upstream)]).increment()
    }
}
