import Foundation
import LayoverMetrics
import LayoverPush
import LayoverStore
import LayoverWire

/// The operator's endpoints: `/readyz`, `/metrics`, `/_layover/status`.
extension RegistryResponder {
    /// 200 when the store's index answers and its directories are writable, else 503 with why.
    func readiness() -> Response {
        if let problem = pull.store.readinessProblem() {
            return .text("not ready: \(problem)\n", status: .serviceUnavailable)
        }
        return .text("ready\n")
    }

    /// Prometheus text: gauges read from the store and the queue now, then every metric.
    func metrics() -> Response {
        guard let metricsExporter else {
            return .text("no metrics backend in this process\n", status: .notFound)
        }
        let usage = pull.store.usage
        Telemetry.store(bytes: usage.bytes, files: usage.files, budget: pull.store.budget.maxBytes, orphanedBytes: pull.store.orphanedBytes)
        if let queue = queueSummary() {
            Telemetry.replication(depth: queue.pending, oldestPendingSeconds: queue.oldestPendingSeconds, deadLetters: queue.dead)
        }
        let text = String(decoding: metricsExporter(), as: UTF8.self)
        return .text(text, contentType: "text/plain; version=0.0.4; charset=utf-8")
    }

    /// `POST /_layover/queue/retry?id=N` (repeatable) or `?all=true`: dead jobs go back in the
    /// queue, once their cause is fixed. Answers the jobs put back.
    func retryDeadJobs(_ request: Request) async throws -> Response {
        let push = try pushService()
        let ids = try request.query.filter { $0.name == "id" }.map { item in
            guard let id = Int64(item.value) else { throw OCIError(status: 400, code: .unsupported, message: "bad job id \(item.value)") }
            return id
        }
        guard !ids.isEmpty || request.queryValue("all") == "true" else {
            throw OCIError(status: 400, code: .unsupported, message: "name the jobs to retry (?id=N) or ?all=true")
        }
        let jobs: [ReplicationJob]
        do {
            jobs = try await push.queue.retryDead(ids.isEmpty ? nil : ids)
        } catch {
            throw OCIError(status: 500, code: .unavailable, message: "\(error)")
        }
        return .json(QueueStatus(jobs: jobs).json())
    }

    func status() -> AdminStatus {
        let usage = pull.store.usage
        let traffic = Telemetry.tally.snapshot
        return AdminStatus(
            uptimeSeconds: Date().timeIntervalSince1970 - startedAt,
            store: .init(root: pull.store.layout.root, bytes: usage.bytes, files: usage.files,
                         reservedBytes: usage.reserved, budgetBytes: pull.store.budget.maxBytes),
            traffic: traffic, hitRatio: traffic.hitRatio, egressSavedBytes: traffic.egressSavedBytes,
            queue: queueSummary(),
            upstreams: pull.upstreams.all.sorted { $0.upstream.name < $1.upstream.name }.map(AdminStatus.Upstream.init),
            fleet: fleet.map(AdminStatus.Fleet.init),
            caches: pull.store.caches.entries)
    }

    /// Waiting and dead jobs; nil when pushes are disabled or the index cannot be read.
    private func queueSummary() -> AdminStatus.Queue? {
        guard push != nil, let counts = try? pull.store.replicationJobCounts() else { return nil }
        let oldest = counts.oldestPendingCreatedAt.map { Date().timeIntervalSince1970 - $0 } ?? 0
        return AdminStatus.Queue(pending: counts.pending, dead: counts.dead, oldestPendingSeconds: max(0, oldest))
    }
}
