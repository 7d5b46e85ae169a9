import Foundation
import LayoverStore

/// The replication queue as operators see it: one entry per job, pending, retrying or dead.
public struct QueueStatus: Codable, Sendable, Equatable {
    public struct Job: Codable, Sendable, Equatable {
        public var id: Int64
        public var upstream: String
        public var repository: String
        public var tag: String?
        /// `push`, `deleteManifest`, `deleteTag` or `deleteBlob` (absent from older servers: push).
        public var operation: String?
        /// The manifest pushed or deleted (a deleted tag's manifest; a deleted blob).
        public var manifest: String
        /// `pending` (not yet tried), `retrying` (failed transiently, will retry), `running`
        /// (an attempt in progress) or `dead`.
        public var state: String
        /// Blob bytes the running attempt has sent so far; nil when no attempt runs.
        public var bytesSent: Int64?
        public var attempts: Int
        public var nextAttemptAt: Double
        public var lastError: String?
        public var createdAt: Double
    }

    public var jobs: [Job]

    /// A job is `running` when the index records its attempt as begun and not ended, or the
    /// queue counts bytes for it: the index's listing alone is one consistent view (an attempt
    /// counted there and not yet ended has no reason to show), while the queue's count starts
    /// after the index's write and ends after the outcome's.
    ///
    /// - Parameter running: the jobs with an attempt in progress, and the bytes it has sent.
    public init(jobs: [ReplicationJob], running: [Int64: Int64] = [:]) {
        self.jobs = jobs.map { job in
            let sent = running[job.id]
            let isRunning = job.inProgress || sent != nil
            let state = job.state == .dead ? "dead" : isRunning ? "running" : (job.attempts > 0 ? "retrying" : "pending")
            return Job(id: job.id, upstream: job.repository.upstream, repository: job.repository.repository.value, tag: job.tag?.value,
                       operation: job.operation.rawValue, manifest: job.manifestDigest.description, state: state, bytesSent: sent,
                       attempts: job.attempts, nextAttemptAt: job.nextAttemptAt, lastError: job.lastError, createdAt: job.createdAt)
        }
    }

    /// The JSON the admin endpoint answers with.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{\"jobs\":[]}".utf8), as: UTF8.self)
    }
}

extension PushService {
    /// The queue's jobs as recorded in the index.
    public func queueStatus() throws -> QueueStatus {
        QueueStatus(jobs: try store.replicationJobs(), running: queue.inProgress)
    }
}
