import GRDB

/// Copies the index's write-ahead log into the database beside the writer, not inside a commit.
///
/// Left to itself, SQLite checkpoints from the connection whose commit grows the log past its
/// threshold: that commit, and every write queued behind it, waits while the log's pages are
/// copied into the database. In a store of a million blobs those pages are scattered, one per
/// B-tree a push touched, and each checkpoint stalled every push for tens of milliseconds.
///
/// Here a connection of its own runs a passive checkpoint every `interval` (it never blocks a
/// writer; pages committed meanwhile wait for the next one). Once the log holds `restartFrames`
/// frames, the writer itself copies the few frames committed during that checkpoint, so that its
/// next transaction starts the log again from the beginning instead of growing it. The writer's
/// own threshold is raised, not removed: it still bounds the log if this task falls behind.
final class IndexCheckpointer: Sendable {
    /// The writer's own checkpoint threshold, in frames (4 KiB pages): a bound, not the rhythm.
    static let writerThresholdFrames = 16_384
    private let task: Task<Void, Never>

    init(path: String, writer: DatabasePool, interval: Duration = .milliseconds(100),
         restartFrames: Int = 1024) throws {
        let connection = try DatabaseQueue(path: path)
        task = Task.detached(priority: .utility) {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let (frames, _) = try? await connection.writeWithoutTransaction({ db in
                    try db.checkpoint(.passive)
                }), frames >= restartFrames else { continue }
                _ = try? await writer.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            }
            try? connection.close()
        }
    }

    /// Stops the checkpoints (the writer's own threshold still applies).
    func stop() {
        task.cancel()
    }

    deinit {
        task.cancel()
    }
}
