import GRDB
import LayoverWire

extension BlobIndex {
    /// Deletion jobs and tombstones: a reference deleted here stays deleted (revalidation does
    /// not bring it back from the upstream) until its job has deleted it upstream too.
    static func registerDeletesMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v5-deletes") { db in
            try db.execute(sql: """
                ALTER TABLE replicationJob ADD COLUMN operation TEXT NOT NULL DEFAULT 'push';
                CREATE TABLE tombstone (
                    upstream TEXT NOT NULL,
                    repository TEXT NOT NULL,
                    reference TEXT NOT NULL,
                    jobId INTEGER,
                    PRIMARY KEY (upstream, repository, reference)
                ) WITHOUT ROWID;
                """)
        }
    }

    /// In one transaction: forgets `target` in `repository` (a tag, or a digest with its tags,
    /// links and referrer entries), leaves tombstones (its own and its tags'), and, when `replicate`, records the job
    /// that deletes it upstream. Returns the job's id and the tags that went.
    /// `row`: the slot of `digest`, when stored (its link to the repository goes).
    func recordDelete(_ repository: RepositoryKey, _ target: DeleteTarget, digest: Digest, row: Int64?, replicate: Bool,
                      now: Double) async throws(StoreError) -> (job: Int64?, tags: [String]) {
        try await guarded {
            try await pool.write { db in
                let names: StatementArguments = [repository.upstream, repository.repository.value]
                let tags = try Self.forget(db, repository, target, row: row)
                var id: Int64?
                if replicate {
                    let tag: String? = if case .tag(let tag) = target { tag.value } else { nil }
                    try db.execute(sql: """
                        INSERT INTO replicationJob (upstream, repository, tag, manifestDigest, mediaType, state, attempts,
                        nextAttemptAt, createdAt, operation) VALUES (?, ?, ?, ?, '', 'pending', 0, ?, ?, ?)
                        """, arguments: names + [tag, digest.description, now, now, target.operation.rawValue])
                    id = db.lastInsertedRowID
                }
                // A deleted manifest's tags are gone here too, though the upstream lists them
                // until the deletion reaches it.
                for reference in Set([target.reference] + tags) {
                    try db.execute(sql: "INSERT OR REPLACE INTO tombstone (upstream, repository, reference, jobId) VALUES (?, ?, ?, ?)",
                                   arguments: names + [reference, id])
                }
                return (id, tags)
            }
        }
    }

    /// Removes what `target` names from the local view of a repository; returns the tags removed.
    private static func forget(_ db: Database, _ repository: RepositoryKey, _ target: DeleteTarget, row: Int64?) throws -> [String] {
        let names: StatementArguments = [repository.upstream, repository.repository.value]
        var tags: [String] = []
        switch target {
        case .tag(let tag):
            tags = [tag.value]
        case .manifest(let digest):
            tags = try String.fetchAll(db, sql: "SELECT tag FROM tag WHERE upstream = ? AND repository = ? AND digest = ?",
                                       arguments: names + [digest.description])
            try db.execute(sql: "DELETE FROM referrer WHERE upstream = ? AND repository = ? AND digest = ?",
                           arguments: names + [digest.description])
            if let row { try deleteLink(db, repository.upstream, repository.repository.value, digest, row: row) }
        case .blob(let digest):
            if let row { try deleteLink(db, repository.upstream, repository.repository.value, digest, row: row) }
        }
        for tag in tags {
            try db.execute(sql: "DELETE FROM tag WHERE upstream = ? AND repository = ? AND tag = ?", arguments: names + [tag])
            try db.execute(sql: "DELETE FROM tagPin WHERE upstream = ? AND repository = ? AND tag = ?", arguments: names + [tag])
        }
        return tags
    }

    /// A deletion job reached its upstream: its tombstones (those no newer push removed) go, and
    /// whatever a revalidation racing the deletion put back is forgotten again.
    /// Returns the references whose tombstones went.
    static func completeDeletion(_ db: Database, _ job: ReplicationJob, manifestRow: Int64?) throws -> [String] {
        let references = try String.fetchAll(db, sql: "SELECT reference FROM tombstone WHERE jobId = ?", arguments: [job.id])
        guard job.operation.isDeletion, references.contains(job.tag?.value ?? job.manifestDigest.description) else {
            try db.execute(sql: "DELETE FROM tombstone WHERE jobId = ?", arguments: [job.id])
            return references
        }
        let names: StatementArguments = [job.repository.upstream, job.repository.repository.value]
        if job.operation == .deleteTag, let tag = job.tag {
            try db.execute(sql: "DELETE FROM tag WHERE upstream = ? AND repository = ? AND tag = ? AND pushPending = 0",
                           arguments: names + [tag.value])
        } else if let manifestRow {
            try deleteLink(db, job.repository.upstream, job.repository.repository.value, job.manifestDigest, row: manifestRow)
        }
        try db.execute(sql: "DELETE FROM tombstone WHERE jobId = ?", arguments: [job.id])
        return references
    }

    /// A push or upload of `references` (tags or digests) in a repository ends their tombstones.
    static func clearTombstones(_ db: Database, _ names: StatementArguments, _ references: [String]) throws {
        let statement = try db.cachedStatement(sql: "DELETE FROM tombstone WHERE upstream = ? AND repository = ? AND reference = ?")
        for reference in references { try statement.execute(arguments: names + [reference]) }
    }

    func tombstones() throws(StoreError) -> [Tombstone] {
        try guarded {
            try pool.read { db in
                try Array(Row.fetchCursor(db, sql: "SELECT upstream, repository, reference FROM tombstone").compactMap { row in
                    guard let name = try? RepositoryName(row["repository"] as String) else { return nil }
                    return Tombstone(repository: RepositoryKey(upstream: row["upstream"], repository: name), reference: row["reference"])
                })
            }
        }
    }
}
