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
    /// its job completes, and for ever when not replicated), links the repository to the manifest,
    /// ends the repository's push holds on what the manifest needs, and either records the job and
    /// the blobs it pins, dropping older pending jobs for the same tag (the newer push supersedes
    /// them), or, for a local push by tag, pins what the tag now needs in place of what it needed.
    /// Returns the new job's id and the ids of superseded jobs.
    /// `rows`: the slots of those stored (each linked to the repository).
    func recordPush(repository: RepositoryKey, tag: Tag?, manifest: Digest, mediaType: String, needs: [Digest], rows: [Digest: Int64],
                    replicate: Bool, now: Double) async throws(StoreError) -> (job: Int64?, superseded: [Int64], previous: Digest?) {
        let closure = Array(Set(needs + [manifest]))
        return try await guarded {
            try await pool.write { db in
                let names: StatementArguments = [repository.upstream, repository.repository.value]
                try Self.clearTombstones(db, names, closure.map(\.description) + (tag.map { [$0.value] } ?? []))
                for digest in closure {
                    if let row = rows[digest] { try Self.writeLink(db, repository.upstream, repository.repository.value, digest, row: row) }
                    try db.execute(sql: "DELETE FROM pushHold WHERE upstream = ? AND repository = ? AND digest = ?",
                                   arguments: names + [digest.description])
                }
                var previous: Digest?
                if let tag {
                    previous = try String.fetchOne(db, sql: "SELECT digest FROM tag WHERE upstream = ? AND repository = ? AND tag = ?",
                                                   arguments: names + [tag.value]).flatMap { try? Digest(parsing: $0) }
                    try db.execute(sql: """
                        INSERT OR REPLACE INTO tag (upstream, repository, tag, digest, mediaType, confirmedAt, pushPending)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """, arguments: names + [tag.value, manifest.description, mediaType, now, 1])
                }
                guard replicate else {
                    if let tag {
                        try db.execute(sql: "DELETE FROM tagPin WHERE upstream = ? AND repository = ? AND tag = ?",
                                       arguments: names + [tag.value])
                        for digest in closure {
                            try db.execute(sql: "INSERT OR IGNORE INTO tagPin (upstream, repository, tag, digest) VALUES (?, ?, ?, ?)",
                                           arguments: names + [tag.value, digest.description])
                        }
                    }
                    return (nil, [], previous)
                }
                var superseded: [Int64] = []
                if let tag {
                    superseded = try Int64.fetchAll(db, sql: """
                        SELECT id FROM replicationJob WHERE upstream = ? AND repository = ? AND tag = ? AND state = 'pending'
                        """, arguments: names + [tag.value])
                    for id in superseded {
                        try db.execute(sql: "DELETE FROM jobBlob WHERE jobId = ?", arguments: [id])
                        try db.execute(sql: "DELETE FROM replicationJob WHERE id = ?", arguments: [id])
                    }
                }
                try db.execute(sql: """
                    INSERT INTO replicationJob (upstream, repository, tag, manifestDigest, mediaType, state, attempts, nextAttemptAt, createdAt)
                    VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)
                    """, arguments: names + [tag?.value, manifest.description, mediaType, now, now])
                let id = db.lastInsertedRowID
                for digest in closure {
                    try db.execute(sql: "INSERT OR IGNORE INTO jobBlob (jobId, digest) VALUES (?, ?)", arguments: [id, digest.description])
                }
                return (id, superseded, previous)
            }
        }
    }

    func jobs() throws(StoreError) -> [ReplicationJob] {
        try guarded {
            try pool.read { db in
                try Array(Row.fetchCursor(db, sql: "SELECT * FROM replicationJob ORDER BY id").compactMap(Self.job))
            }
        }
    }

    func jobBlobs() throws(StoreError) -> [(Int64, Digest)] {
        try guarded {
            try pool.read { db in
                try Array(Row.fetchCursor(db, sql: "SELECT jobId, digest FROM jobBlob").compactMap { row in
                    guard let digest = try? Digest(parsing: row["digest"] as String) else { return nil }
                    return (row["jobId"] as Int64, digest)
                })
            }
        }
    }

    /// Removes a job whose write reached the upstream. Its tag stops being marked as pending
    /// only if it still points to the job's manifest and no other job of that tag remains (a tag
    /// with a push still to replicate is never revalidated from the upstream). A deletion's
    /// tombstones go with it. Returns the references whose tombstones went.
    /// `manifestRow`: the slot of the job's manifest, when stored.
    func completeJob(_ job: ReplicationJob, manifestRow: Int64?) async throws(StoreError) -> [String] {
        try await guarded {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM jobBlob WHERE jobId = ?", arguments: [job.id])
                try db.execute(sql: "DELETE FROM replicationJob WHERE id = ?", arguments: [job.id])
                if job.operation.isDeletion { return try Self.completeDeletion(db, job, manifestRow: manifestRow) }
                if let tag = job.tag {
                    let names: StatementArguments = [job.repository.upstream, job.repository.repository.value, tag.value]
                    try db.execute(sql: """
                        UPDATE tag SET pushPending = 0
                        WHERE upstream = ? AND repository = ? AND tag = ? AND digest = ?
                        AND NOT EXISTS (SELECT 1 FROM replicationJob j WHERE j.upstream = ? AND j.repository = ? AND j.tag = ?)
                        """, arguments: names + [job.manifestDigest.description] + names)
                }
                return []
            }
        }
    }

    /// Saves a job's attempts, schedule, state and last error; its attempt is over.
    func updateJob(_ job: ReplicationJob) async throws(StoreError) {
        try await guarded {
            try await pool.write { db in
                try db.execute(sql: """
                    UPDATE replicationJob SET state = ?, attempts = ?, nextAttemptAt = ?, lastError = ?, inProgress = 0,
                    interruptions = ? WHERE id = ?
                    """, arguments: [job.state.rawValue, job.attempts, job.nextAttemptAt, job.lastError, job.interruptions, job.id])
            }
        }
    }

    /// Puts dead jobs (all of them, or those in `ids`) back in the queue, due at `now`, their
    /// attempts counted afresh. Returns them.
    func retryDead(_ ids: [Int64]?, now: Double) async throws(StoreError) -> [ReplicationJob] {
        try await guarded {
            try await pool.write { db in
                let dead = try Row.fetchAll(db, sql: "SELECT * FROM replicationJob WHERE state = 'dead' ORDER BY id")
                    .compactMap(Self.job).filter { ids == nil || ids!.contains($0.id) }
                for job in dead {
                    try db.execute(sql: """
                        UPDATE replicationJob SET state = 'pending', attempts = 0, interruptions = 0, inProgress = 0,
                        nextAttemptAt = ?, lastError = NULL WHERE id = ?
                        """, arguments: [now, job.id])
                }
                return dead.map { job in
                    var job = job
                    job.state = .pending
                    job.attempts = 0
                    job.interruptions = 0
                    job.inProgress = false
                    job.nextAttemptAt = now
                    job.lastError = nil
                    return job
                }
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

    static func job(_ row: Row) -> ReplicationJob? {
        guard let repository = try? RepositoryName(row["repository"] as String),
              let digest = try? Digest(parsing: row["manifestDigest"] as String),
              let state = ReplicationJob.State(rawValue: row["state"])
        else { return nil }
        return ReplicationJob(id: row["id"], repository: RepositoryKey(upstream: row["upstream"], repository: repository),
                              tag: (row["tag"] as String?).flatMap { try? Tag($0) }, manifestDigest: digest,
                              mediaType: row["mediaType"], state: state, attempts: row["attempts"],
                              nextAttemptAt: row["nextAttemptAt"], lastError: row["lastError"], createdAt: row["createdAt"],
                              inProgress: (row["inProgress"] as Int? ?? 0) != 0, interruptions: row["interruptions"] as Int? ?? 0,
                              operation: ReplicationJob.Operation(rawValue: row["operation"] as String? ?? "push") ?? .push)
    }
}
