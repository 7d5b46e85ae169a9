import HeapModule
import LayoverStore

/// Which replication jobs run when. Pure: the queue holds it under a lock and starts the jobs it
/// hands out. Jobs run oldest first, at most `concurrencyPerUpstream` at once per upstream, each
/// not before its `nextAttemptAt`; dead jobs never run. Jobs for one tag never run at the same
/// time, and a job superseded while it runs is not retried (its tag must not go back in time).
/// A deletion is a barrier in its repository: it starts only after every older job there ended
/// (a push acknowledged before it reaches the upstream first), and no newer job there starts
/// before it ended (a push after it is not deleted by it).
public struct ReplicationSchedule: Sendable {
    public private(set) var waiting: [Int64: ReplicationJob] = [:]
    public private(set) var running: [Int64: ReplicationJob] = [:]
    /// Running jobs a newer push of the same tag has replaced.
    public private(set) var superseded: Set<Int64> = []
    public let concurrencyPerUpstream: Int
    /// Waiting jobs by when they become due (entries of jobs since removed are skipped).
    private var delayed = Heap<Entry>()
    /// Due jobs of each upstream, oldest first.
    private var due: [String: Heap<Int64>] = [:]
    private var runningPerUpstream: [String: Int] = [:]
    private var runningTags: Set<String> = []
    /// Waiting and running jobs of each repository, and the deletions among them.
    private var live: [String: Set<Int64>] = [:]
    private var deletions: [String: Set<Int64>] = [:]

    private struct Entry: Comparable {
        var at: Double
        var id: Int64
        static func < (lhs: Entry, rhs: Entry) -> Bool { (lhs.at, lhs.id) < (rhs.at, rhs.id) }
    }

    public init(concurrencyPerUpstream: Int) {
        self.concurrencyPerUpstream = concurrencyPerUpstream
    }

    /// Adds or replaces a job (a newer push's job, or a job loaded at startup).
    public mutating func add(_ job: ReplicationJob) {
        guard job.state == .pending, running[job.id] == nil else { return }
        waiting[job.id] = job
        live[Self.repositoryKey(job), default: []].insert(job.id)
        if job.operation.isDeletion { deletions[Self.repositoryKey(job), default: []].insert(job.id) }
        delayed.insert(Entry(at: job.nextAttemptAt, id: job.id))
    }

    /// Forgets jobs that were superseded by a newer push; running ones are marked, so that they
    /// are not retried and skip moving the tag. Returns the ids of the waiting jobs dropped
    /// (running ones report when they end).
    @discardableResult
    public mutating func remove(_ ids: [Int64]) -> [Int64] {
        var dropped: [Int64] = []
        for id in ids {
            if let job = waiting.removeValue(forKey: id) {
                dropped.append(id)
                end(job)
            }
            if running[id] != nil { superseded.insert(id) }
        }
        return dropped
    }

    /// Whether a running job was replaced by a newer push of its tag.
    public func isSuperseded(_ id: Int64) -> Bool { superseded.contains(id) }

    /// The jobs to start now, marked as running. Costs O(log n) per job that becomes due or
    /// starts, whatever the backlog: a queue of 50,000 jobs behind a busy upstream is not rescanned.
    public mutating func take(now: Double) -> [ReplicationJob] {
        while let next = delayed.min, next.at <= now {
            delayed.removeMin()
            guard let job = waiting[next.id], job.nextAttemptAt == next.at else { continue }
            due[job.repository.upstream, default: Heap()].insert(job.id)
        }
        var started: [ReplicationJob] = []
        for upstream in Array(due.keys) {
            var blocked: [Int64] = []
            while runningPerUpstream[upstream, default: 0] < concurrencyPerUpstream, let id = due[upstream]?.popMin() {
                guard let job = waiting[id], job.nextAttemptAt <= now else { continue }
                guard !isHeldBack(job) else {
                    blocked.append(id)
                    continue
                }
                if let key = Self.tagKey(job) {
                    // One job per tag at a time; at most one other job of a tag waits, so few are set aside.
                    guard !runningTags.contains(key) else {
                        blocked.append(id)
                        continue
                    }
                    runningTags.insert(key)
                }
                waiting[id] = nil
                running[id] = job
                runningPerUpstream[upstream, default: 0] += 1
                started.append(job)
            }
            for id in blocked { due[upstream]?.insert(id) }
            if due[upstream]?.isEmpty == true { due[upstream] = nil }
        }
        return started.sorted { $0.id < $1.id }
    }

    /// A job finished; `retry` is the job rescheduled after a transient failure, nil otherwise.
    public mutating func finished(_ id: Int64, retry: ReplicationJob?) {
        let job = running.removeValue(forKey: id)
        if let job {
            runningPerUpstream[job.repository.upstream, default: 1] -= 1
            if let key = Self.tagKey(job) { runningTags.remove(key) }
        }
        if superseded.remove(id) == nil, let retry, retry.state == .pending {
            add(retry)
        } else if let job {
            end(job)
        }
    }

    /// Whether the repository's order holds `job` back: an older job there still to end before
    /// a deletion, or an older deletion there still to end before any job.
    private func isHeldBack(_ job: ReplicationJob) -> Bool {
        let key = Self.repositoryKey(job)
        let older = job.operation.isDeletion ? live[key] : deletions[key]
        return older?.contains { $0 < job.id } ?? false
    }

    /// A job left the queue (done, dead or superseded): it no longer orders its repository.
    private mutating func end(_ job: ReplicationJob) {
        let key = Self.repositoryKey(job)
        live[key]?.remove(job.id)
        if live[key]?.isEmpty == true { live[key] = nil }
        deletions[key]?.remove(job.id)
        if deletions[key]?.isEmpty == true { deletions[key] = nil }
    }

    private static func repositoryKey(_ job: ReplicationJob) -> String { job.repository.description }

    private static func tagKey(_ job: ReplicationJob) -> String? {
        job.tag.map { "\(job.repository)|\($0)" }
    }

    /// When the next waiting job becomes due; nil when none is to come. Due jobs held back by a
    /// busy upstream or tag start when a running job finishes (the queue is woken then).
    public var nextDue: Double? { delayed.min?.at }

    /// The wait before attempt `attempts + 1` after `attempts` transient failures: exponential
    /// from 1 s, capped at 5 minutes, with jitter in [50 %, 100 %].
    public static func backoff(attempts: Int, jitter: Double) -> Double {
        min(300, pow2(attempts - 1)) * (0.5 + 0.5 * min(max(jitter, 0), 1))
    }

    private static func pow2(_ exponent: Int) -> Double {
        exponent <= 0 ? 1 : Double(1 << min(exponent, 20))
    }
}
