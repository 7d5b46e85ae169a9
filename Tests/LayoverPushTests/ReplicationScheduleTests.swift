import LayoverPush
import LayoverStore
import LayoverWire
import Testing

@Suite("Replication schedule")
struct ReplicationScheduleTests {
    static func job(_ id: Int64, upstream: String = "up", repository: String = "team/app", tag: String? = "latest",
                    due: Double = 0) throws -> ReplicationJob {
        ReplicationJob(id: id, repository: RepositoryKey(upstream: upstream, repository: try RepositoryName(repository)),
                       tag: try tag.map { try Tag($0) }, manifestDigest: Digest.sha256(of: [UInt8(id)]),
                       mediaType: MediaType.ociManifest, state: .pending, attempts: 0, nextAttemptAt: due, lastError: nil, createdAt: 0)
    }

    @Test("oldest first, bounded per upstream, not before due")
    func ordering() throws {
        var schedule = ReplicationSchedule(concurrencyPerUpstream: 2)
        schedule.add(try Self.job(3, tag: "c"))
        schedule.add(try Self.job(1, tag: "a"))
        schedule.add(try Self.job(2, tag: "b"))
        schedule.add(try Self.job(4, upstream: "other", tag: "d"))
        schedule.add(try Self.job(5, tag: "e", due: 100))
        #expect(schedule.take(now: 10).map(\.id) == [1, 2, 4])
        #expect(schedule.take(now: 10).isEmpty)
        schedule.finished(1, retry: nil)
        #expect(schedule.take(now: 10).map(\.id) == [3])
        #expect(schedule.nextDue == 100)
    }

    @Test("two jobs for one tag never run at once")
    func oneTagAtATime() throws {
        var schedule = ReplicationSchedule(concurrencyPerUpstream: 4)
        schedule.add(try Self.job(1))
        schedule.add(try Self.job(2))
        #expect(schedule.take(now: 0).map(\.id) == [1])
        schedule.finished(1, retry: nil)
        #expect(schedule.take(now: 0).map(\.id) == [2])
    }

    @Test("a job superseded while it runs is not retried and is reported as superseded")
    func supersededWhileRunning() throws {
        var schedule = ReplicationSchedule(concurrencyPerUpstream: 2)
        let old = try Self.job(1)
        schedule.add(old)
        #expect(schedule.take(now: 0).map(\.id) == [1])
        schedule.remove([1])
        schedule.add(try Self.job(2))
        #expect(schedule.isSuperseded(1))
        #expect(schedule.take(now: 0).isEmpty, "the newer job waits for the running older one")
        var retry = old
        retry.attempts = 1
        schedule.finished(1, retry: retry)
        #expect(!schedule.isSuperseded(1))
        #expect(schedule.take(now: 0).map(\.id) == [2])
        #expect(schedule.waiting.isEmpty)
    }

    @Test("a transient failure comes back after its backoff; dead jobs do not")
    func retries() throws {
        var schedule = ReplicationSchedule(concurrencyPerUpstream: 1)
        schedule.add(try Self.job(1))
        var job = try #require(schedule.take(now: 0).first)
        job.attempts = 1
        job.nextAttemptAt = 5
        schedule.finished(1, retry: job)
        #expect(schedule.take(now: 4).isEmpty)
        #expect(schedule.take(now: 5).map(\.id) == [1])
        job.state = .dead
        schedule.finished(1, retry: job)
        #expect(schedule.waiting.isEmpty)
    }

    @Test("backoff doubles from one second, is capped at five minutes, and jitter keeps it in [50 %, 100 %]")
    func backoff() {
        #expect(ReplicationSchedule.backoff(attempts: 1, jitter: 1) == 1)
        #expect(ReplicationSchedule.backoff(attempts: 4, jitter: 1) == 8)
        #expect(ReplicationSchedule.backoff(attempts: 4, jitter: 0) == 4)
        #expect(ReplicationSchedule.backoff(attempts: 30, jitter: 1) == 300)
    }
}
