import GRDB
import LayoverWire

extension BlobIndex {
    static func registerReplicationMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2-replication") { db in
            try db.execute(sql: """
                CREATE TABLE replicationJob (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    upstream TEXT NOT NULL,
                    repository TEXT NOT NULL,
                    tag TEXT,
                    manifestDigest TEXT NOT NULL,
                    mediaType TEXT NOT NULL,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    nextAttemptAt DOUBLE NOT NULL,
                    lastError TEXT,
                    createdAt DOUBLE NOT NULL
                );
                CREATE TABLE jobBlob (
                    jobId INTEGER NOT NULL,
                    digest TEXT NOT NULL,
                    PRIMARY KEY (jobId, digest)
                ) WITHOUT ROWID;
                ALTER TABLE tag ADD COLUMN pushPending INTEGER NOT NULL DEFAULT 0;
                """)
        }
    }

    /// In one transaction: moves the tag (marked as pushed here: it wins over the upstream's until
    /// its job completes, and for ever when not replicated), links the repository to the manifest, records the job and the blobs it pins, and
    /// drops older pending jobs for the same tag (the newer push supersedes them).
    /// Returns the new job's id and the ids of superseded jobs.
    func recordPush(repository: RepositoryKey, tag: Tag?, manifest: Digest, mediaType: String, needs: [Digest],
                    replicate: Bool, now: Double) async throws(StoreError) -> (job: Int64?, superseded: [Int64]) {
        try await guarded {
            try await pool.write { db in
                try db.execute(sql: "INSERT OR IGNORE INTO repositoryLink (upstream, repository, digest) VALUES (?, ?, ?)",
                               arguments: [repository.upstream, repository.repository.value, manifest.description])
                for digest in needs {
                    try db.execute(sql: "INSERT OR IGNORE INTO repositoryLink (upstream, repository, digest) VALUES (?, ?, ?)",
                                   arguments: [repository.upstream, repository.repository.value, digest.description])
                }
                if let tag {
                    try db.execute(sql: """
                        INSERT OR REPLACE INTO tag (upstream, repository, tag, digest, mediaType, confirmedAt, pushPending)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [repository.upstream, repository.repository.value, tag.value, manifest.description,
                                         mediaType, now, 1])
                }
                guard replicate else { return (nil, []) }
                var superseded: [Int64] = []
                if let tag {
                    superseded = try Int64.fetchAll(db, sql: """
                        SELECT id FROM replicationJob WHERE upstream = ? AND repository = ? AND tag = ? AND state = 'pending'
                        """, arguments: [repository.upstream, repository.repository.value, tag.value])
                    for id in superseded {
                        try db.execute(sql: "DELETE FROM jobBlob WHERE jobId = ?", arguments: [id])
                        try db.execute(sql: "DELETE FROM replicationJob WHERE id = ?", arguments: [id])
                    }
                }
                try db.execute(sql: """
                    INSERT INTO replicationJob (upstream, repository, tag, manifestDigest, mediaType, state, attempts, nextAttemptAt, createdAt)
                    VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)
                    """, arguments: [repository.upstream, repository.repository.value, tag?.value, manifest.description,
                                     mediaType, now, now])
                let id = db.lastInsertedRowID
                for digest in Set(needs + [manifest]) {
                    try db.execute(sql: "INSERT OR IGNORE INTO jobBlob (jobId, digest) VALUES (?, ?)", arguments: [id, digest.description])
                }
                return (id, superseded)
            }
        }
    }

    func jobs() throws(StoreError) -> [ReplicationJob] {
        try guarded {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM replicationJob ORDER BY id").compactMap(Self.job)
            }
        }
    }

    func jobBlobs() throws(StoreError) -> [(Int64, Digest)] {
        try guarded {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT jobId, digest FROM jobBlob").compactMap { row in
                    guard let digest = try? Digest(parsing: row["digest"] as String) else { return nil }
                    return (row["jobId"] as Int64, digest)
                }
            }
        }
    }

    /// Removes a finished job; its tag stops being marked as pending if it still points to the job's manifest.
    func completeJob(_ job: ReplicationJob) async throws(StoreError) {
        try await guarded {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM jobBlob WHERE jobId = ?", arguments: [job.id])
                try db.execute(sql: "DELETE FROM replicationJob WHERE id = ?", arguments: [job.id])
                if let tag = job.tag {
                    try db.execute(sql: """
                        UPDATE tag SET pushPending = 0
                        WHERE upstream = ? AND repository = ? AND tag = ? AND digest = ?
                        """, arguments: [job.repository.upstream, job.repository.repository.value, tag.value,
                                         job.manifestDigest.description])
                }
            }
        }
    }

    func updateJob(_ job: ReplicationJob) async throws(StoreError) {
        try await guarded {
            try await pool.write { db in
                try db.execute(sql: """
                    UPDATE replicationJob SET state = ?, attempts = ?, nextAttemptAt = ?, lastError = ? WHERE id = ?
                    """, arguments: [job.state.rawValue, job.attempts, job.nextAttemptAt, job.lastError, job.id])
            }
        }
    }

    /// Local tags of a repository, with whether each was pushed and not yet replicated.
    func tags(_ repository: RepositoryKey) throws(StoreError) -> [(tag: String, pushPending: Bool)] {
        try guarded {
            try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT tag, pushPending FROM tag WHERE upstream = ? AND repository = ? ORDER BY tag",
                                 arguments: [repository.upstream, repository.repository.value]).map { row in
                    (row["tag"] as String, (row["pushPending"] as Int) != 0)
                }
            }
        }
    }

    private static func job(_ row: Row) -> ReplicationJob? {
        guard let repository = try? RepositoryName(row["repository"] as String),
              let digest = try? Digest(parsing: row["manifestDigest"] as String),
              let state = ReplicationJob.State(rawValue: row["state"])
        else { return nil }
        return ReplicationJob(id: row["id"], repository: RepositoryKey(upstream: row["upstream"], repository: repository),
                              tag: (row["tag"] as String?).flatMap { try? Tag($0) }, manifestDigest: digest,
                              mediaType: row["mediaType"], state: state, attempts: row["attempts"],
                              nextAttemptAt: row["nextAttemptAt"], lastError: row["lastError"], createdAt: row["createdAt"])
    }
}

extension BlobIndex {
    func repositories(holding digest: Digest, upstream: String) throws(StoreError) -> [RepositoryName] {
        try guarded {
            try pool.read { db in
                try String.fetchAll(db, sql: "SELECT repository FROM repositoryLink WHERE upstream = ? AND digest = ? LIMIT 8",
                                    arguments: [upstream, digest.description]).compactMap { try? RepositoryName($0) }
            }
        }
    }
}
