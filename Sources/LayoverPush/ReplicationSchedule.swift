import LayoverStore

/// Which replication jobs run when. Pure: the queue holds it under a lock and starts the jobs it
/// hands out. Jobs run oldest first, at most `concurrencyPerUpstream` at once per upstream, each
/// not before its `nextAttemptAt`; dead jobs never run. Jobs for one tag never run at the same
/// time, and a job superseded while it runs is not retried (its tag must not go back in time).
public struct ReplicationSchedule: Sendable {
    public private(set) var waiting: [Int64: ReplicationJob] = [:]
    public private(set) var running: [Int64: ReplicationJob] = [:]
    /// Running jobs a newer push of the same tag has replaced.
    public private(set) var superseded: Set<Int64> = []
    public let concurrencyPerUpstream: Int

    public init(concurrencyPerUpstream: Int) {
        self.concurrencyPerUpstream = concurrencyPerUpstream
    }

    /// Adds or replaces a job (a newer push's job, or a job loaded at startup).
    public mutating func add(_ job: ReplicationJob) {
        guard job.state == .pending, running[job.id] == nil else { return }
        waiting[job.id] = job
    }

    /// Forgets jobs that were superseded by a newer push; running ones are marked, so that they
    /// are not retried and skip moving the tag. Returns the ids of the waiting jobs dropped
    /// (running ones report when they end).
    @discardableResult
    public mutating func remove(_ ids: [Int64]) -> [Int64] {
        var dropped: [Int64] = []
        for id in ids {
            if waiting.removeValue(forKey: id) != nil { dropped.append(id) }
            if running[id] != nil { superseded.insert(id) }
        }
        return dropped
    }

    /// Whether a running job was replaced by a newer push of its tag.
    public func isSuperseded(_ id: Int64) -> Bool { superseded.contains(id) }

    /// The jobs to start now, marked as running.
    public mutating func take(now: Double) -> [ReplicationJob] {
        var busy = running.values.reduce(into: [String: Int]()) { $0[$1.repository.upstream, default: 0] += 1 }
        var started: [ReplicationJob] = []
        var busyTags = Set(running.values.compactMap(Self.tagKey))
        for job in waiting.values.sorted(by: { $0.id < $1.id }) where job.nextAttemptAt <= now {
            guard busy[job.repository.upstream, default: 0] < concurrencyPerUpstream else { continue }
            if let key = Self.tagKey(job) {
                guard !busyTags.contains(key) else { continue }
                busyTags.insert(key)
            }
            busy[job.repository.upstream, default: 0] += 1
            waiting[job.id] = nil
            running[job.id] = job
            started.append(job)
        }
        return started
    }

    /// A job finished; `retry` is the job rescheduled after a transient failure, nil otherwise.
    public mutating func finished(_ id: Int64, retry: ReplicationJob?) {
        running[id] = nil
        if superseded.remove(id) != nil { return }
        if let retry, retry.state == .pending { waiting[retry.id] = retry }
    }

    private static func tagKey(_ job: ReplicationJob) -> String? {
        job.tag.map { "\(job.repository)|\($0)" }
    }

    /// When the earliest waiting job becomes due; nil when none waits.
    public var nextDue: Double? { waiting.values.map(\.nextAttemptAt).min() }

    /// The wait before attempt `attempts + 1` after `attempts` transient failures: exponential
    /// from 1 s, capped at 5 minutes, with jitter in [50 %, 100 %].
    public static func backoff(attempts: Int, jitter: Double) -> Double {
        min(300, pow2(attempts - 1)) * (0.5 + 0.5 * min(max(jitter, 0), 1))
    }

    private static func pow2(_ exponent: Int) -> Double {
        exponent <= 0 ? 1 : Double(1 << min(exponent, 20))
    }
}
