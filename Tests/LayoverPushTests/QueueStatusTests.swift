import LayoverPush
import LayoverStore
import Testing

/// The queue as operators see it: each job's state read from one listing of the index, with the
/// bytes the queue counts for a running attempt.
@Suite("Queue status")
struct QueueStatusTests {
    static func state(attempts: Int, inProgress: Bool, lastError: String? = nil, dead: Bool = false,
                      running: [Int64: Int64] = [:]) throws -> QueueStatus.Job {
        var job = try ReplicationScheduleTests.job(7)
        job.attempts = attempts
        job.inProgress = inProgress
        job.lastError = lastError
        if dead { job.state = .dead }
        return try #require(QueueStatus(jobs: [job], running: running).jobs.first)
    }

    @Test("an attempt the index records as begun is running, before the queue counts its bytes and after it stopped counting")
    func runningFromTheIndex() throws {
        // The index counts the attempt first; the queue's byte count starts after that write
        // and ends after the attempt's outcome is written.
        let begun = try Self.state(attempts: 1, inProgress: true)
        #expect(begun.state == "running" && begun.bytesSent == nil, "\(begun)")
        let counted = try Self.state(attempts: 1, inProgress: true, running: [7: 4096])
        #expect(counted.state == "running" && counted.bytesSent == 4096)
    }

    @Test("a job is pending before its first attempt, retrying with its reason after a failed one, dead when refused for good")
    func states() throws {
        #expect(try Self.state(attempts: 0, inProgress: false).state == "pending")
        let failed = try Self.state(attempts: 1, inProgress: false, lastError: "HTTP 500")
        #expect(failed.state == "retrying" && failed.lastError == "HTTP 500")
        #expect(try Self.state(attempts: 3, inProgress: false, lastError: "HTTP 403", dead: true).state == "dead")
    }
}
