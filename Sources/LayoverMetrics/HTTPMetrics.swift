import CoreMetrics

extension Telemetry {
    enum HTTP {
        static let active = Meter(label: "layover_http_active_requests")
    }

    /// A request started: counts it in flight until `requestFinished`.
    public static func requestStarted() {
        HTTP.active.increment()
        tally.request()
    }

    /// A request answered: `endpoint` is the route's kind (`manifest`, `blob`, …), `seconds` the
    /// time until the answer's head was ready.
    public static func requestFinished(endpoint: String, method: String, status: Int, seconds: Double) {
        HTTP.active.decrement()
        Counter(label: "layover_http_requests_total",
                dimensions: [("endpoint", endpoint), ("method", method), ("status", String(status))]).increment()
        Timer(label: "layover_http_request_duration_seconds", dimensions: [("endpoint", endpoint)])
            .recordNanoseconds(Int64(seconds * 1e9))
    }
}
