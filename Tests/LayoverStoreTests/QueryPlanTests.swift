import GRDB
import Testing
@testable import LayoverStore

/// Every query a request or a push runs finds its rows through a key or an index: no table scan
/// whose cost grows with the store.
@Suite("Index query plans")
struct QueryPlanTests {
    static let hotQueries = [
        "SELECT 1 FROM repositoryLink WHERE blob = ? AND upstream = ? AND repository = ? AND digest = ?",
        "SELECT repository FROM repositoryLink WHERE blob = ? AND upstream = ? AND digest = ? LIMIT 8",
        "DELETE FROM repositoryLink WHERE blob = ? AND digest = ?",
        "SELECT digest, mediaType, confirmedAt, pushPending FROM tag WHERE upstream = ? AND repository = ? AND tag = ?",
        "SELECT tag, pushPending FROM tag WHERE upstream = ? AND repository = ? ORDER BY tag",
        "SELECT digest, mediaType, size, artifactType, annotations FROM referrer WHERE upstream = ? AND repository = ? AND subject = ? ORDER BY digest",
        "SELECT id FROM replicationJob WHERE upstream = ? AND repository = ? AND tag = ? AND state = 'pending'",
        "SELECT 1 FROM replicationJob j WHERE j.upstream = ? AND j.repository = ? AND j.tag = ?",
        "UPDATE blob SET mediaType = ? WHERE id = ? AND digest = ?",
        "DELETE FROM blob WHERE id = ? AND digest = ?",
        "DELETE FROM pushHold WHERE upstream = ? AND repository = ? AND digest = ?",
        "DELETE FROM repositoryLink WHERE blob = ? AND upstream = ? AND repository = ? AND digest = ?",
        "DELETE FROM jobBlob WHERE jobId = ?",
        "DELETE FROM replicationJob WHERE id = ?",
        "DELETE FROM tagPin WHERE upstream = ? AND repository = ? AND tag = ?",
        "DELETE FROM pushHold WHERE until <= ?",
        BlobIndex.probe,
        BlobIndex.highestBlobRow,
    ]

    @Test("hot queries search by key or index, never scan", arguments: hotQueries)
    func searchesByIndex(_ sql: String) throws {
        let directory = ScratchDirectory()
        let index = try BlobIndex(path: directory.path + "/index.sqlite")
        let plan = try index.pool.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: StatementArguments(
                Array(repeating: "x", count: sql.filter { $0 == "?" }.count))!).map { $0["detail"] as String }
        }
        #expect(!plan.isEmpty)
        for step in plan {
            #expect(!step.hasPrefix("SCAN"), "\(sql): \(step)")
        }
    }
}

@Suite("Index migrations")
struct IndexMigrationTests {
    /// An index left at `version` with 50 rows written by `insert` (given the row's number),
    /// then opened as the store opens it: migrated to the latest version.
    static func migrated(from version: String, in directory: ScratchDirectory,
                         _ insert: (Database, Int) throws -> Void) throws -> BlobIndex {
        let path = directory.path + "/index.sqlite"
        let old = try DatabasePool(path: path)
        try BlobIndex.migrator.migrate(old, upTo: version)
        try old.write { db in
            for index in 0..<50 { try insert(db, index) }
        }
        try old.close()
        return try BlobIndex(path: path)
    }

    @Test("links keyed by digest before v11 are under their blob's slot after it; links of blobs not stored are dropped")
    func linksBySlot() throws {
        let directory = ScratchDirectory()
        let index = try Self.migrated(from: "v10-blobs-by-slot", in: directory) { db, index in
            // Blobs 0..<25 stored (ids 1...25); two links each for digests 10..<35.
            if index < 25 {
                try db.execute(sql: "INSERT INTO blob (digest, size, lastAccess) VALUES (?, 1, ?)", arguments: ["sha256:\(index)", Double(index)])
            }
            try db.execute(sql: "INSERT INTO repositoryLink (upstream, repository, digest) VALUES (?, ?, ?)",
                           arguments: ["up", "team/\(index % 5)", "sha256:\(index / 2 + 10)"])
        }
        let (count, holders, indexes) = try index.pool.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM repositoryLink"),
             try String.fetchAll(db, sql: "SELECT repository FROM repositoryLink WHERE blob = 14 AND upstream = 'up' AND digest = 'sha256:13' ORDER BY repository"),
             try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%' AND tbl_name IN ('blob', 'repositoryLink')"))
        }
        #expect(count == 30, "the links of the 15 digests stored (10...24), two each")
        #expect(holders == ["team/1", "team/2"])
        #expect(indexes.isEmpty)
    }

    @Test("blobs of an index before v12 keep their last access, read from their rows while `access` is empty")
    func accessTable() throws {
        let directory = ScratchDirectory()
        let index = try Self.migrated(from: "v11-links-by-slot", in: directory) { db, index in
            try db.execute(sql: "INSERT INTO blob (id, digest, size, lastAccess) VALUES (?, ?, 1, ?)",
                           arguments: [index + 1, "sha256:\(index)", Double(100 + index)])
        }
        var read: [Int64: Double] = [:]
        try index.forEachBlobRow { id, _, _, _, lastAccess in read[id] = lastAccess }
        #expect(read.count == 50 && read[1] == 100 && read[50] == 149)
        try index.pool.write { db in try db.execute(sql: "INSERT INTO access (id, lastAccess) VALUES (2, 500), (3, 50), (77, 900)") }
        read = [:]
        try index.forEachBlobRow { id, _, _, _, lastAccess in read[id] = lastAccess }
        #expect(read.count == 50 && read[2] == 500 && read[3] == 102 && read[4] == 103, "the later of the two; a row without a blob is skipped")
    }

    @Test("blobs keyed by digest before v10 are all there after it, in rows numbered by last access, with no index")
    func blobsBySlot() throws {
        let directory = ScratchDirectory()
        let index = try Self.migrated(from: "v9-blobs-by-digest", in: directory) { db, index in
            try db.execute(sql: "INSERT INTO blob (digest, size, mediaType, lastAccess) VALUES (?, ?, ?, ?)",
                           arguments: ["sha256:\(index)", index * 10, index % 2 == 0 ? "m" : nil, Double(50 - index)])
        }
        let (rows, indexes) = try index.pool.read { db in
            (try Row.fetchAll(db, sql: "SELECT id, digest, size, mediaType, lastAccess FROM blob ORDER BY id"),
             try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'blob'"))
        }
        #expect(rows.count == 50)
        #expect(rows.map { $0["lastAccess"] as Double } == (1...50).map(Double.init), "numbered least recently used first")
        #expect(rows[42]["digest"] as String == "sha256:7" && rows[42]["size"] as Int == 70)
        #expect(rows[42]["mediaType"] as String? == nil && rows[41]["mediaType"] as String? == "m")
        #expect(indexes.isEmpty)
    }
}

@Suite("Index durability")
struct IndexSynchronousTests {
    @Test("FULL by default, NORMAL only when asked", arguments: [(IndexSynchronous?.none, 2), (.full, 2), (.normal, 1)])
    func synchronousPragma(_ choice: IndexSynchronous?, _ expected: Int) throws {
        let directory = ScratchDirectory()
        let path = directory.path + "/index.sqlite"
        let index = try choice.map { try BlobIndex(path: path, synchronous: $0) } ?? BlobIndex(path: path)
        #expect(try index.pool.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == expected)
    }

    @Test("the writer has a page cache of its own size; readers keep SQLite's default")
    func writerPageCache() throws {
        let directory = ScratchDirectory()
        let index = try BlobIndex(path: directory.path + "/index.sqlite")
        #expect(try index.pool.write { try Int.fetchOne($0, sql: "PRAGMA cache_size") } == -BlobIndex.writerCacheKiB)
        #expect(try index.pool.read { try Int.fetchOne($0, sql: "PRAGMA cache_size") } == -2000)
    }
}
