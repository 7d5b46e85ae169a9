import Foundation
import GRDB
import Testing
@testable import LayoverStore

/// The index's log is copied into the database in the pauses between writes, beside the writer;
/// writes that never pause are copied once the budget is reached, and the log starts again long
/// before the writer's own (raised) threshold would copy it inside a commit.
@Suite("Index checkpoints")
struct IndexCheckpointerTests {
    static func insert(_ pool: DatabasePool, _ count: Int, tag: String) async throws {
        for row in 0..<count {
            try await pool.write { db in try db.execute(sql: "INSERT INTO row (key) VALUES (?)", arguments: ["\(tag)-\(row)"]) }
        }
    }

    /// A log of its own (the writer's threshold as the index sets it) and a checkpointer on it.
    static func log(_ directory: ScratchDirectory, idle: Duration) throws -> (DatabasePool, IndexCheckpointer, String) {
        let path = directory.path + "/log.sqlite"
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(IndexCheckpointer.writerThresholdFrames)")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try pool.write { try $0.execute(sql: "CREATE TABLE row (key TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID") }
        return (pool, try IndexCheckpointer(path: path, writer: pool, idle: idle), path)
    }

    @Test("the writer's own threshold is a bound, not the rhythm")
    func writerThresholdRaised() throws {
        let directory = ScratchDirectory()
        let index = try BlobIndex(path: directory.path + "/index.sqlite")
        let threshold = try index.pool.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") }
        #expect(threshold == IndexCheckpointer.writerThresholdFrames)
    }

    @Test("a burst of commits is copied once it pauses, not while it runs")
    func burstCopiedAfterPause() async throws {
        let directory = ScratchDirectory()
        // A pause is five seconds without a commit here: the burst has no such gap, even on a
        // machine running the whole suite (with one second it had, once: a checkpoint mid-burst).
        let (pool, checkpointer, path) = try Self.log(directory, idle: .seconds(5))
        defer { try? checkpointer.stop() }
        let logIndex = LogIndexFile(path: path + "-shm")
        try await Self.insert(pool, 1_000, tag: "burst")
        let during = try #require(logIndex.read())
        #expect(during.lastFrame >= 1_000, "each commit wrote a frame at least: \(during)")
        #expect(during.copiedFrames == 0, "nothing copied during the burst: \(during)")
        var after = during
        let deadline = ContinuousClock.now + .seconds(20)
        while after.copiedFrames < after.lastFrame, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            after = try #require(logIndex.read())
        }
        #expect(after.copiedFrames == after.lastFrame, "copied in the pause: \(after)")
        #expect(after.lastFrame == during.lastFrame)
    }

    @Test("commits that never pause are copied past the budget, and the log starts again")
    func unpausedWritesBounded() async throws {
        let directory = ScratchDirectory()
        let (pool, checkpointer, path) = try Self.log(directory, idle: .seconds(60))
        defer { try? checkpointer.stop() }
        let logIndex = LogIndexFile(path: path + "-shm")
        var copiedWhileWriting = 0
        for batch in 0..<30 {
            try await Self.insert(pool, 1_000, tag: "steady\(batch)")
            copiedWhileWriting = max(copiedWhileWriting, logIndex.read()?.copiedFrames ?? 0)
        }
        let walFrames = ((try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0) / 4096
        #expect(copiedWhileWriting > 0, "checkpoints ran under the writes")
        // 30,000 commits wrote at least 30,000 frames: the log restarted on the way, soon after
        // twice the budget, long before the writer's own threshold (32,768).
        #expect(walFrames < 24_000, "log of \(walFrames) frames")
        #expect(try await pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM row") } == 30_000)
    }
}
