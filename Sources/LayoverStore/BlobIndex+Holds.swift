import GRDB
import LayoverWire

extension BlobIndex {
    /// Push holds and local-tag pins made durable (a restart must not drop what protects an
    /// acknowledged push), job attempt marks, and the indexes the hot queries need.
    static func registerHoldsMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4-holds") { db in
            try db.execute(sql: """
                CREATE TABLE pushHold (
                    upstream TEXT NOT NULL,
                    repository TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    until DOUBLE NOT NULL,
                    PRIMARY KEY (upstream, repository, digest)
                ) WITHOUT ROWID;
                CREATE INDEX pushHold_until ON pushHold(until);
                CREATE TABLE tagPin (
                    upstream TEXT NOT NULL,
                    repository TEXT NOT NULL,
                    tag TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    PRIMARY KEY (upstream, repository, tag, digest)
                ) WITHOUT ROWID;
                ALTER TABLE replicationJob ADD COLUMN inProgress INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE replicationJob ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX replicationJob_tag ON replicationJob(upstream, repository, tag, state);
                CREATE INDEX repositoryLink_digest ON repositoryLink(upstream, digest);
                """)
        }
    }

    /// Records (or extends) push holds, and links each repository to its blob when it is stored
    /// (`row`, its slot) and ends a deletion's tombstone there, in one transaction.
    func hold(_ keys: [(key: HoldKey, row: Int64?)], until: Double) async throws(StoreError) {
        guard !keys.isEmpty else { return }
        try await guarded {
            try await pool.write { db in
                for (key, row) in keys { try Self.writeHold(db, key, until: until, row: row) }
            }
        }
    }

    /// Records a blob just put in place together with its push hold and repository link: one
    /// transaction (one WAL fsync) for what an upload's `PUT` makes durable.
    func insert(_ record: BlobRecord, row: Int64, holding key: HoldKey, until: Double) async throws(StoreError) {
        try await guarded {
            try await pool.write { db in
                try Self.writeBlob(db, record, row: row)
                try Self.writeHold(db, key, until: until, row: row)
            }
        }
    }

    private static func writeHold(_ db: Database, _ key: HoldKey, until: Double, row: Int64?) throws {
        let upstream = key.repository.upstream, repository = key.repository.repository.value, digest = key.digest.description
        try db.cachedStatement(sql: """
            INSERT INTO pushHold (upstream, repository, digest, until) VALUES (?, ?, ?, ?)
            ON CONFLICT (upstream, repository, digest) DO UPDATE SET until = MAX(until, excluded.until)
            """).execute(arguments: [upstream, repository, digest, until])
        if let row { try writeLink(db, upstream, repository, key.digest, row: row) }
        try clearTombstones(db, [upstream, repository], [digest])
    }

    /// Holds still running at `now`; expired rows are deleted on the way.
    func holds(now: Double) throws(StoreError) -> [(HoldKey, Double)] {
        try guarded {
            try pool.write { db in
                try db.execute(sql: "DELETE FROM pushHold WHERE until <= ?", arguments: [now])
                return try Array(Row.fetchCursor(db, sql: "SELECT upstream, repository, digest, until FROM pushHold").compactMap { row in
                    guard let digest = try? Digest(parsing: row["digest"] as String),
                          let repository = try? RepositoryName(row["repository"] as String) else { return nil }
                    let key = HoldKey(repository: RepositoryKey(upstream: row["upstream"], repository: repository), digest: digest)
                    return (key, row["until"] as Double)
                })
            }
        }
    }

    /// Every local tag's pinned digests.
    func tagPins() throws(StoreError) -> [(RepositoryKey, Tag, Digest)] {
        try guarded {
            try pool.read { db in
                try Array(Row.fetchCursor(db, sql: "SELECT upstream, repository, tag, digest FROM tagPin").compactMap { row in
                    guard let digest = try? Digest(parsing: row["digest"] as String),
                          let repository = try? RepositoryName(row["repository"] as String),
                          let tag = try? Tag(row["tag"] as String) else { return nil }
                    return (RepositoryKey(upstream: row["upstream"], repository: repository), tag, digest)
                })
            }
        }
    }

    /// Marks a job's attempt as started (counted even if the process dies during it).
    func beginAttempt(_ id: Int64) async throws(StoreError) {
        try await guarded {
            try await pool.write { db in
                try db.execute(sql: "UPDATE replicationJob SET attempts = attempts + 1, inProgress = 1 WHERE id = ?", arguments: [id])
            }
        }
    }
}

extension BlobIndex {
    /// Jobs waiting, jobs dead, and when the oldest waiting one was created: one aggregate query,
    /// not a read of every job.
    func jobCounts() throws(StoreError) -> (pending: Int, dead: Int, oldestPendingCreatedAt: Double?) {
        try guarded {
            try pool.read { db in
                let row = try Row.fetchOne(db, sql: """
                    SELECT COUNT(*) FILTER (WHERE state != 'dead') AS pending, COUNT(*) FILTER (WHERE state = 'dead') AS dead,
                    MIN(createdAt) FILTER (WHERE state != 'dead') AS oldest FROM replicationJob
                    """)
                return (row?["pending"] ?? 0, row?["dead"] ?? 0, row?["oldest"])
            }
        }
    }
}
