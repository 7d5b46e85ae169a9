import LayoverPush
import LayoverStore
import LayoverWire
import Testing

/// A deletion is a barrier in its repository's replication order.
@Suite("Deletion order")
struct DeletionOrderTests {
    static func job(_ id: Int64, _ operation: ReplicationJob.Operation = .push, repository: String = "team/app",
                    tag: String? = nil) throws -> ReplicationJob {
        var job = try ReplicationScheduleTests.job(id, repository: repository, tag: tag)
        job.operation = operation
        return job
    }

    @Test("a deletion waits for the repository's older pushes; newer pushes wait for it; other repositories go on")
    func barrier() throws {
        var schedule = ReplicationSchedule(concurrencyPerUpstream: 8)
        schedule.add(try Self.job(1, tag: "a"))
        schedule.add(try Self.job(2, tag: "b"))
        schedule.add(try Self.job(3, .deleteManifest))
        schedule.add(try Self.job(4, tag: "c"))
        schedule.add(try Self.job(5, repository: "team/other", tag: "a"))
        #expect(schedule.take(now: 0).map(\.id) == [1, 2, 5])
        schedule.finished(1, retry: nil)
        #expect(schedule.take(now: 0).isEmpty, "job 2 still runs")
        schedule.finished(2, retry: nil)
        #expect(schedule.take(now: 0).map(\.id) == [3])
        #expect(schedule.take(now: 0).isEmpty, "the push after the deletion waits for it")
        schedule.finished(3, retry: nil)
        #expect(schedule.take(now: 0).map(\.id) == [4])
    }

    @Test("a dead older push does not hold a deletion back; a retried one does")
    func deadAndRetried() throws {
        var schedule = ReplicationSchedule(concurrencyPerUpstream: 8)
        schedule.add(try Self.job(1, tag: "a"))
        schedule.add(try Self.job(2, .deleteTag, tag: "b"))
        #expect(schedule.take(now: 0).map(\.id) == [1])
        var retry = try Self.job(1, tag: "a")
        retry.attempts = 1
        retry.nextAttemptAt = 10
        schedule.finished(1, retry: retry)
        #expect(schedule.take(now: 5).isEmpty, "the push is retrying: still ahead of the deletion")
        #expect(schedule.take(now: 10).map(\.id) == [1])
        retry.state = .dead
        schedule.finished(1, retry: retry)
        #expect(schedule.take(now: 10).map(\.id) == [2])
    }

    @Test("two deletions of one repository run one after the other")
    func deletionsInOrder() throws {
        var schedule = ReplicationSchedule(concurrencyPerUpstream: 8)
        schedule.add(try Self.job(1, .deleteBlob))
        schedule.add(try Self.job(2, .deleteManifest))
        #expect(schedule.take(now: 0).map(\.id) == [1])
        schedule.finished(1, retry: nil)
        #expect(schedule.take(now: 0).map(\.id) == [2])
    }
}
