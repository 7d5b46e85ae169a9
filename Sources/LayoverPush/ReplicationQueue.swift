import Foundation
import LayoverPull
import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging
import Synchronization

/// The durable write-back queue: jobs are written to the index with the push that creates them,
/// loaded again at startup, and run by workers (bounded per upstream) until they reach their
/// upstream or fail permanently (dead-lettered, their blobs kept pinned and visible in status).
///
/// Thread safety: the schedule is behind a lock; jobs run in their own tasks.
public final class ReplicationQueue: Sendable {
    let store: BlobStore
    let upstreams: UpstreamDirectory
    let clock: @Sendable () -> Double
    let logger: Logger
    private let schedule: Mutex<ReplicationSchedule>
    private let doorbell = Doorbell()
    private let outcomes = Mutex<[Int64: [CheckedContinuation<String?, Never>]]>([:])
    /// Attempts after which even transient failures dead-letter a job.
    static let maximumAttempts = 1000

    public init(store: BlobStore, upstreams: UpstreamDirectory, concurrencyPerUpstream: Int = 2,
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                logger: Logger = Logger(label: "layover.replication")) {
        self.store = store
        self.upstreams = upstreams
        self.clock = clock
        self.logger = logger
        schedule = Mutex(ReplicationSchedule(concurrencyPerUpstream: concurrencyPerUpstream))
    }

    /// Loads pending jobs (a restart or crash left them) and runs the queue until cancelled.
    public func run() async {
        do {
            let jobs = try store.replicationJobs()
            schedule.withLock { schedule in for job in jobs { schedule.add(job) } }
            if !jobs.isEmpty { logger.info("resuming replication", metadata: ["jobs": "\(jobs.count)"]) }
        } catch {
            logger.error("cannot load replication jobs", metadata: ["error": "\(error)"])
        }
        while !Task.isCancelled {
            let now = clock()
            let (due, next) = schedule.withLock { ($0.take(now: now), $0.nextDue) }
            for job in due {
                Task { await self.execute(job) }
            }
            let wait = next.map { max(0.01, min(60, $0 - now)) } ?? 60
            await doorbell.wait(timeout: .milliseconds(Int(wait * 1000)))
        }
    }

    /// Schedules a new job and drops the ones it superseded.
    public func enqueue(_ job: ReplicationJob, superseding: [Int64] = []) {
        schedule.withLock { schedule in
            schedule.remove(superseding)
            schedule.add(job)
        }
        doorbell.ring()
    }

    /// Schedules a job and waits for its first attempt: nil when it reached the upstream, else the error.
    public func enqueueAndWait(_ job: ReplicationJob, superseding: [Int64] = []) async -> String? {
        await withCheckedContinuation { continuation in
            outcomes.withLock { $0[job.id, default: []].append(continuation) }
            enqueue(job, superseding: superseding)
        }
    }

    private func execute(_ job: ReplicationJob) async {
        var metadata: Logger.Metadata = ["job": "\(job.id)", "repository": "\(job.repository)",
                                         "manifest": "\(job.manifestDigest)"]
        guard let client = upstreams.client(named: job.repository.upstream) else {
            await finish(job, failure: .permanent("upstream \(job.repository.upstream) is no longer configured"), metadata: metadata)
            return
        }
        let executor = ReplicationExecutor(store: store, client: client, logger: logger) { [weak self] in
            self?.schedule.withLock { $0.isSuperseded(job.id) } ?? false
        }
        do throws(ReplicationExecutor.Failure) {
            try await executor.run(job)
            try? await store.completeJob(job)
            logger.info("replicated", metadata: metadata)
            schedule.withLock { $0.finished(job.id, retry: nil) }
            resolve(job.id, error: nil)
        } catch {
            metadata["attempt"] = "\(job.attempts + 1)"
            await finish(job, failure: error, metadata: metadata)
        }
        doorbell.ring()
    }

    private func finish(_ job: ReplicationJob, failure: ReplicationExecutor.Failure, metadata: Logger.Metadata) async {
        var job = job
        job.attempts += 1
        switch failure {
        case .transient(let detail) where job.attempts < Self.maximumAttempts:
            job.lastError = detail
            job.nextAttemptAt = clock() + ReplicationSchedule.backoff(attempts: job.attempts, jitter: Double.random(in: 0...1))
            logger.warning("replication failed, will retry", metadata: metadata.merging(["error": "\(detail)"]) { $1 })
        case .transient(let detail), .permanent(let detail):
            job.lastError = detail
            job.state = .dead
            logger.error("replication dead-lettered", metadata: metadata.merging(["error": "\(detail)"]) { $1 })
        }
        try? await store.updateJob(job)
        schedule.withLock { $0.finished(job.id, retry: job) }
        resolve(job.id, error: job.lastError)
    }

    private func resolve(_ id: Int64, error: String?) {
        for waiter in outcomes.withLock({ $0.removeValue(forKey: id) }) ?? [] { waiter.resume(returning: error) }
    }
}
