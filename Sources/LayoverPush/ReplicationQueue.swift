import Foundation
import LayoverPull
import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging
import LayoverLocks

/// The durable write-back queue: jobs are written to the index with the push that creates them,
/// loaded again at startup, and run by workers (bounded per upstream) until they reach their
/// upstream or fail permanently (dead-lettered, their blobs kept pinned and visible in status).
///
/// Each attempt is counted in the index before it starts: a job the process keeps dying during
/// is dead-lettered after `maximumInterruptions` starts instead of taking the cache down with it.
///
/// Thread safety: the schedule is behind a lock; jobs run in child tasks of `run`.
public final class ReplicationQueue: Sendable {
    let store: BlobStore
    let upstreams: UpstreamDirectory
    let clock: @Sendable () -> Double
    let logger: Logger
    private let schedule: Locked<ReplicationSchedule>
    private let doorbell = Doorbell()
    private let outcomes = Locked<[Int64: [CheckedContinuation<SyncOutcome, Never>]]>([:])
    /// Bytes of blob uploads sent by each running job's current attempt.
    private let progress = Locked<[Int64: Int64]>([:])
    /// Blob uploads running in all jobs, so that jobs sharing a blob send it once.
    private let sends = BlobSends()
    /// Attempts after which even transient failures dead-letter a job.
    static let maximumAttempts = 1000
    /// Attempts in a row the process may die during before the job is dead-lettered.
    static let maximumInterruptions = 3

    /// How a `sync` push's replication ended, as its client is told.
    public enum SyncOutcome: Sendable, Equatable {
        /// The upstream accepted the manifest.
        case replicated
        /// The attempt failed (the job stays queued for retry, or is dead); the reason.
        case failed(String)
        /// A newer push of the tag replaced this one before it reached the upstream.
        case superseded(String)
    }

    public init(store: BlobStore, upstreams: UpstreamDirectory, concurrencyPerUpstream: Int = 2,
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                logger: Logger = Logger(label: "layover.replication")) {
        self.store = store
        self.upstreams = upstreams
        self.clock = clock
        self.logger = logger
        schedule = Locked(ReplicationSchedule(concurrencyPerUpstream: concurrencyPerUpstream))
    }

    /// Loads the recorded jobs (a restart or crash left them); call before the front accepts
    /// pushes, so that a newer push supersedes them rather than racing them. A job whose attempt
    /// was running when the process died counts that attempt as failed.
    public func load() async {
        let jobs: [ReplicationJob]
        do {
            jobs = try store.replicationJobs()
        } catch {
            logger.error("cannot load replication jobs", metadata: ["error": "\(error)"])
            return
        }
        var loaded: [ReplicationJob] = []
        for var job in jobs {
            if job.inProgress {
                job.interruptions += 1
                job.inProgress = false
                job.lastError = "the process stopped during attempt \(job.attempts)"
                if job.interruptions >= Self.maximumInterruptions {
                    job.state = .dead
                    job.lastError = "the process stopped during \(job.interruptions) attempts in a row (a crash while replicating?)"
                    logger.error("replication dead-lettered", metadata: ["job": "\(job.id)", "error": "\(job.lastError!)"])
                } else {
                    job.nextAttemptAt = clock() + ReplicationSchedule.backoff(attempts: job.attempts, jitter: Double.random(in: 0...1))
                }
                try? await store.updateJob(job)
            }
            loaded.append(job)
        }
        schedule.withLock { schedule in for job in loaded { schedule.add(job) } }
        let waiting = loaded.filter { $0.state == .pending }.count
        if waiting > 0 { logger.info("resuming replication", metadata: ["jobs": "\(waiting)"]) }
    }

    /// Runs the queue until cancelled; jobs in progress are cancelled with it and awaited.
    public func run() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let now = clock()
                let (due, next) = schedule.withLock { ($0.take(now: now), $0.nextDue) }
                for job in due {
                    group.addTask { await self.execute(job) }
                }
                let wait = next.map { max(0.01, min(60, $0 - now)) } ?? 60
                await doorbell.wait(timeout: .milliseconds(Int(wait * 1000)))
            }
        }
    }

    /// Schedules a new job and drops the ones it superseded.
    public func enqueue(_ job: ReplicationJob, superseding: [Int64] = []) {
        let dropped = schedule.withLock { schedule in
            let dropped = schedule.remove(superseding)
            schedule.add(job)
            return dropped
        }
        for id in dropped { resolve(id, .superseded(Self.supersededReason(job))) }
        doorbell.ring()
    }

    /// Schedules a job and waits for its first attempt.
    public func enqueueAndWait(_ job: ReplicationJob, superseding: [Int64] = []) async -> SyncOutcome {
        await withCheckedContinuation { continuation in
            outcomes.withLock { $0[job.id, default: []].append(continuation) }
            enqueue(job, superseding: superseding)
        }
    }

    /// Puts dead jobs (every one, or those in `ids`) back in the queue; returns them.
    public func retryDead(_ ids: [Int64]?) async throws -> [ReplicationJob] {
        let jobs = try await store.retryDeadJobs(ids)
        schedule.withLock { schedule in for job in jobs { schedule.add(job) } }
        for job in jobs { logger.notice("dead job put back in the queue", metadata: ["job": "\(job.id)"]) }
        doorbell.ring()
        return jobs
    }

    /// Upload bytes sent so far by the running attempt of each job in progress.
    public var inProgress: [Int64: Int64] { progress.withLock { $0 } }

    private func execute(_ job: ReplicationJob) async {
        var metadata: Logger.Metadata = ["job": "\(job.id)", "repository": "\(job.repository)",
                                         "manifest": "\(job.manifestDigest)"]
        guard let client = upstreams.client(named: job.repository.upstream) else {
            await finish(job, failure: .permanent("upstream \(job.repository.upstream) is no longer configured"), metadata: metadata)
            return
        }
        if client.breaker.isOpen {
            // The upstream is marked down: no attempt is made or counted (its backoff would grow
            // through the outage); the job waits for the breaker's probe, a sync pusher is told.
            var waiting = job
            waiting.nextAttemptAt = clock() + Double(client.breaker.probeInterval.components.seconds)
            schedule.withLock { $0.finished(job.id, retry: waiting) }
            resolve(job.id, .failed("upstream \(job.repository.upstream) is down; the push is queued and replicates once it answers"))
            doorbell.ring()
            return
        }
        do {
            try await store.beginAttempt(job)
        } catch {
            logger.error("cannot record the replication attempt", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
        progress.withLock { $0[job.id] = 0 }
        defer { progress.withLock { _ = $0.removeValue(forKey: job.id) } }
        var executor = ReplicationExecutor(store: store, client: client, logger: logger, sends: sends) { [weak self] in
            self?.schedule.withLock { $0.isSuperseded(job.id) } ?? false
        }
        executor.progress = { [weak self] sent in self?.progress.withLock { $0[job.id] = sent } }
        do throws(ReplicationExecutor.Failure) {
            switch try await executor.run(job) {
            case .replicated:
                await detached { try? await self.store.completeJob(job) }
                logger.info("replicated", metadata: metadata)
                schedule.withLock { $0.finished(job.id, retry: nil) }
                resolve(job.id, .replicated)
            case .superseded:
                // The newer push's job owns the tag (and already replaced this job's row).
                schedule.withLock { $0.finished(job.id, retry: nil) }
                resolve(job.id, .superseded(Self.supersededReason(job)))
            }
        } catch {
            metadata["attempt"] = "\(job.attempts + 1)"
            await finish(job, failure: error, metadata: metadata)
        }
        doorbell.ring()
    }

    private func finish(_ job: ReplicationJob, failure: ReplicationExecutor.Failure, metadata: Logger.Metadata) async {
        if schedule.withLock({ $0.isSuperseded(job.id) }) {
            schedule.withLock { $0.finished(job.id, retry: nil) }
            resolve(job.id, .superseded(Self.supersededReason(job)))
            return
        }
        var job = job
        job.attempts += 1
        job.interruptions = 0
        switch failure {
        case .transient(let detail, let retryAfter) where job.attempts < Self.maximumAttempts:
            job.lastError = detail
            let backoff = ReplicationSchedule.backoff(attempts: job.attempts, jitter: Double.random(in: 0...1))
            job.nextAttemptAt = clock() + max(backoff, retryAfter ?? 0)
            logger.warning("replication failed, will retry", metadata: metadata.merging(["error": "\(detail)"]) { $1 })
        case .transient(let detail, _), .permanent(let detail):
            job.lastError = detail
            job.state = .dead
            logger.error("replication dead-lettered", metadata: metadata.merging(["error": "\(detail)"]) { $1 })
        }
        let saved = job
        await detached { try? await self.store.updateJob(saved) }
        schedule.withLock { $0.finished(job.id, retry: job) }
        resolve(job.id, .failed(job.lastError ?? "replication failed"))
    }

    /// Runs index writes outside the job's task: a shutdown cancelling the job must not cancel
    /// the write that records how its attempt ended.
    private func detached(_ body: @escaping @Sendable () async -> Void) async {
        await Task { await body() }.value
    }

    private func resolve(_ id: Int64, _ outcome: SyncOutcome) {
        for waiter in outcomes.withLock({ $0.removeValue(forKey: id) }) ?? [] { waiter.resume(returning: outcome) }
    }

    private static func supersededReason(_ job: ReplicationJob) -> String {
        "a newer push of \(job.repository)\(job.tag.map { ":\($0)" } ?? "") replaced this one before it reached the upstream"
    }
}
