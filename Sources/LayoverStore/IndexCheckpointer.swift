import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// Copies the index's write-ahead log into the database in the pauses between writes, beside
/// the writer, not inside a commit.
///
/// Left to itself, SQLite checkpoints from the connection whose commit grows the log past 1,000
/// frames: that commit, and every write queued behind it, waits while the log's pages are copied
/// into the database. In a store of a million blobs those pages are scattered, one per B-tree a
/// push touched, and the checkpoints cost pushes a fifth of their rate.
///
/// Here a connection of its own runs a passive checkpoint (it never blocks a writer) once the
/// log has been still for `idle`, or, under writes that do not pause, once `budgetFrames` frames
/// wait to be copied. A burst of pushes (a CI job's image) is acknowledged without paying for
/// the copy, which runs after it. When frames were committed during a busy checkpoint and the
/// log is long, the writer copies those few itself, so that its next transaction starts the log
/// again instead of growing it. The writer's own threshold is raised, not removed: it still bounds
/// the log if this task falls behind.
///
/// The log's state is read from its index (the `-shm` file, see sqlite.org/walformat.html): the
/// last valid frame and the frames already copied. That file is opened once and closed only after
/// every connection (see `LogIndexFile`).
final class IndexCheckpointer: Sendable {
    /// The writer's own checkpoint threshold, in frames (4 KiB pages): a bound, not the rhythm.
    static let writerThresholdFrames = 32_768
    private let task: Task<Void, Never>
    private let connection: DatabaseQueue
    private let logIndex: LogIndexFile

    /// - Parameters:
    ///   - tick: how often the log's state is read.
    ///   - idle: how long the log must be still before its frames are copied.
    ///   - budgetFrames: frames that may wait for a pause; past it they are copied under writes.
    ///   - restartFrames: a log at least this long after a busy checkpoint is restarted by the writer.
    init(path: String, writer: DatabasePool, tick: Duration = .milliseconds(50), idle: Duration = .milliseconds(250),
         budgetFrames: Int = 8_192, restartFrames: Int = 16_384) throws {
        let connection = try DatabaseQueue(path: path)
        let logIndex = LogIndexFile(path: path + "-shm")
        self.connection = connection
        self.logIndex = logIndex
        let idleTicks = max(1, Int(idle / tick))
        task = Task.detached(priority: .utility) {
            var lastFrame = -1, stillTicks = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: tick)
                guard let log = logIndex.read() else { continue }
                stillTicks = log.lastFrame == lastFrame ? stillTicks + 1 : 0
                lastFrame = log.lastFrame
                let waiting = log.lastFrame - log.copiedFrames
                let paused = stillTicks >= idleTicks
                guard waiting > 0, paused || waiting >= budgetFrames else { continue }
                guard let (frames, _) = try? await connection.writeWithoutTransaction({ try $0.checkpoint(.passive) }) else { continue }
                if !paused, frames >= restartFrames {
                    _ = try? await writer.writeWithoutTransaction { try $0.checkpoint(.passive) }
                }
            }
        }
    }

    /// Stops the checkpoints and closes this connection (waiting for a checkpoint in progress);
    /// the writer's own threshold still applies. Call `closeLogIndex` once the writer is closed.
    func stop() throws {
        task.cancel()
        try connection.close()
    }

    /// Closes the log index file. Only after every connection to the database is closed: closing
    /// a descriptor drops every lock this process holds on the file, SQLite's included.
    func closeLogIndex() {
        logIndex.close()
    }

    deinit {
        task.cancel()
    }

    /// The write-ahead log's frames: the last valid one, and how many have been copied into the
    /// database (both counted from the log's start).
    struct LogState: Equatable {
        var lastFrame: Int
        var copiedFrames: Int

        /// Reads the log index's first header copy (`mxFrame` at byte 16) and the checkpoint
        /// record after the two copies (`nBackfill` at byte 96), in native byte order. Nil when
        /// the file is short (no log yet).
        static func read(descriptor: Int32) -> LogState? {
            var header = [UInt8](repeating: 0, count: 100)
            guard pread(descriptor, &header, header.count, 0) == header.count else { return nil }
            func word(_ offset: Int) -> Int {
                header.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
            }
            return LogState(lastFrame: word(16), copiedFrames: word(96))
        }
    }
}
