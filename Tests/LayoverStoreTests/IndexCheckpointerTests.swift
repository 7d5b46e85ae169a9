import Foundation
import GRDB
import Testing
@testable import LayoverStore

/// The index's log is copied into the database beside the writer, and starts again from the
/// beginning, long before the writer's own (raised) threshold would copy it inside a commit.
@Suite("Index checkpoints")
struct IndexCheckpointerTests {
    @Test("the writer's own threshold is a bound, not the rhythm")
    func writerThresholdRaised() throws {
        let directory = ScratchDirectory()
        let index = try BlobIndex(path: directory.path + "/index.sqlite")
        let threshold = try index.pool.write { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") }
        #expect(threshold == IndexCheckpointer.writerThresholdFrames)
    }

    @Test("thousands of small commits leave a log of a few thousand frames, not all of them")
    func logStaysShort() async throws {
        let directory = ScratchDirectory()
        let path = directory.path + "/index.sqlite"
        let index = try BlobIndex(path: path, synchronous: .normal)
        var committed = 0
        for batch in 0..<24 {
            for row in 0..<250 {
                try await index.pool.write { db in
                    try db.execute(sql: "INSERT INTO blob (digest, size, lastAccess) VALUES (?, 1, 0)",
                                   arguments: ["sha256:\(batch)-\(row)"])
                }
                committed += 1
            }
            try await Task.sleep(for: .milliseconds(40))
        }
        let walFrames = ((try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0) / 4096
        // Each commit writes at least one frame: without the checkpoints the log would hold
        // all 6,000 of them (the writer's threshold is 16,384).
        #expect(committed == 6_000)
        #expect(walFrames < 3_000, "log of \(walFrames) frames")
        #expect(try await index.pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM blob") } == 6_000)
    }
}
