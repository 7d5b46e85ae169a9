import GRDB
import LayoverWire

extension BlobIndex {
    /// Which blobs each tagged manifest references, the manifests each tag left, and the blobs
    /// marked orphans: what orphan-first eviction needs to survive a restart. Loading it at
    /// startup reads the orphan rows only.
    static func registerOrphansMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-orphans") { db in
            try db.execute(sql: """
                CREATE TABLE manifestReference (
                    manifest TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    PRIMARY KEY (manifest, digest)
                ) WITHOUT ROWID;
                CREATE INDEX manifestReference_digest ON manifestReference(digest);
                CREATE TABLE tagHistory (
                    upstream TEXT NOT NULL,
                    repository TEXT NOT NULL,
                    tag TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    replacedAt DOUBLE NOT NULL,
                    orphanedBytes INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX tagHistory_tag ON tagHistory(upstream, repository, tag, replacedAt);
                CREATE TABLE orphan (
                    digest TEXT PRIMARY KEY NOT NULL,
                    since DOUBLE NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX tag_digest ON tag(digest);
                """)
        }
    }

    /// What a tag move changed: blobs no longer orphans, and blobs newly orphaned.
    struct TagMove: Sendable {
        var cleared: [Digest] = []
        var orphaned: [Digest] = []
    }

    /// In one transaction, after the tag row already points at `new`: records what `new`
    /// references and clears those (and `new`) as orphans; when the tag left another manifest
    /// `old`, records that in the tag's history and marks orphans `old` and every blob it
    /// references (`oldReferences`, else the rows recorded for it) that no tagged manifest names.
    /// Costs a few indexed reads per blob of the two manifests.
    func tagMoved(_ repository: RepositoryKey, _ tag: Tag, from old: Digest?, oldReferences: [Digest]?,
                  to new: Digest, newReferences: [Digest], now: Double) async throws(StoreError) -> TagMove {
        try await guarded {
            try await pool.write { db in
                var move = TagMove()
                let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO manifestReference (manifest, digest) VALUES (?, ?)")
                for digest in Set(newReferences) { try insert.execute(arguments: [new.description, digest.description]) }
                let unorphan = try db.cachedStatement(sql: "DELETE FROM orphan WHERE digest = ?")
                for digest in Set(newReferences + [new]) {
                    try unorphan.execute(arguments: [digest.description])
                    if db.changesCount > 0 { move.cleared.append(digest) }
                }
                guard let old, old != new else { return move }
                try db.execute(sql: """
                    INSERT INTO tagHistory (upstream, repository, tag, digest, replacedAt) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [repository.upstream, repository.repository.value, tag.value, old.description, now])
                let references = try oldReferences ?? String.fetchAll(db, sql: "SELECT digest FROM manifestReference WHERE manifest = ?",
                                                                      arguments: [old.description]).compactMap { try? Digest(parsing: $0) }
                // Named by a tag, by a tagged manifest, or by a child of a tagged index.
                let tagged = try db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM tag WHERE digest = ?1)
                        OR EXISTS (SELECT 1 FROM manifestReference AS r JOIN tag AS t ON t.digest = r.manifest WHERE r.digest = ?1)
                        OR EXISTS (SELECT 1 FROM manifestReference AS r JOIN manifestReference AS p ON p.digest = r.manifest
                                   JOIN tag AS t ON t.digest = p.manifest WHERE r.digest = ?1)
                    """)
                let mark = try db.cachedStatement(sql: "INSERT OR IGNORE INTO orphan (digest, since) VALUES (?, ?)")
                for digest in Set(references + [old]) {
                    guard try Bool.fetchOne(tagged, arguments: [digest.description]) == false else { continue }
                    try mark.execute(arguments: [digest.description, now])
                    move.orphaned.append(digest)
                }
                return move
            }
        }
    }

    /// Records what a manifest stored without a tag (an index's child, fetched or pushed by
    /// digest) references, so that a tagged index's grandchildren count as tagged.
    func recordReferences(_ manifest: Digest, _ references: [Digest]) async throws(StoreError) {
        guard !references.isEmpty else { return }
        try await guarded {
            try await pool.write { db in
                let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO manifestReference (manifest, digest) VALUES (?, ?)")
                for digest in Set(references) { try insert.execute(arguments: [manifest.description, digest.description]) }
            }
        }
    }

    /// Records the bytes a tag's last move orphaned, on its newest history row.
    func recordOrphanedBytes(_ repository: RepositoryKey, _ tag: Tag, bytes: Int64) async throws(StoreError) {
        try await guarded {
            try await pool.write { db in
                try db.execute(sql: """
                    UPDATE tagHistory SET orphanedBytes = ? WHERE rowid = (SELECT rowid FROM tagHistory
                    WHERE upstream = ? AND repository = ? AND tag = ? ORDER BY replacedAt DESC LIMIT 1)
                    """, arguments: [bytes, repository.upstream, repository.repository.value, tag.value])
            }
        }
    }

    /// Every orphan, oldest orphaned first (read once, when the store opens).
    func orphans() throws(StoreError) -> [Digest] {
        try guarded {
            try pool.read { db in
                try String.fetchAll(db, sql: "SELECT digest FROM orphan ORDER BY since").compactMap { try? Digest(parsing: $0) }
            }
        }
    }
}
