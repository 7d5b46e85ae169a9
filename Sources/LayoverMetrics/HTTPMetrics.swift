import CoreMetrics
import LayoverLocks

extension Telemetry {
    enum HTTP {
        static let active = Meter(label: "layover_http_active_requests")

        /// A request's two handles, made once per (endpoint, method, status): making a handle
        /// goes through the backend's registry (a lock, label checks), too much for every request.
        struct Handles {
            var requests: Counter
            var duration: Timer
        }

        struct Key: Hashable {
            var endpoint: String
            var method: String
            var status: Int
        }

        /// Bounded: endpoints, parsed methods and statuses are few, but a key beyond the bound
        /// gets fresh handles instead of growing the table.
        static let limit = 1024
        static let handles = Locked<[Key: Handles]>([:])

        static func handles(_ key: Key) -> Handles {
            if let known = handles.withLock({ $0[key] }) { return known }
            let made = Handles(
                requests: Counter(label: "layover_http_requests_total",
                                  dimensions: [("endpoint", key.endpoint), ("method", key.method), ("status", String(key.status))]),
                duration: Timer(label: "layover_http_request_duration_seconds", dimensions: [("endpoint", key.endpoint)]))
            handles.withLock { table in
                if table.count < limit { table[key] = made }
            }
            return made
        }
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
        let handles = HTTP.handles(HTTP.Key(endpoint: endpoint, method: method, status: status))
        handles.requests.increment()
        handles.duration.recordNanoseconds(Int64(seconds * 1e9))
    }
}
