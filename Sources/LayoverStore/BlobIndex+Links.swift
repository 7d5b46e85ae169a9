import GRDB
import LayoverWire

/// Repository links: which repositories are known to hold a stored blob (an upstream's answer,
/// a push, a mount). A link is a fact about a blob stored here, kept under the blob's slot (its
/// row's id, see `BlobTable`) and dropped with it; for a blob not stored nothing is written.
///
/// Keyed by slot first, a new blob's links go at the end of the table (or where an evicted
/// blob's were), not at a random leaf among a million keyed by digest: the page a push dirties
/// is the one the pushes before it dirtied. The digest is kept beside the key and every
/// statement names it, so links a slot's previous blob left (its delete not run yet) never
/// count for the blob in it now.
extension BlobIndex {
    static func registerLinksBySlotMigration(_ migrator: inout DatabaseMigrator) {
        // Links of blobs not stored are dropped. The digest index lives for the copy only.
        migrator.registerMigration("v11-links-by-slot") { db in
            try db.execute(sql: """
                CREATE INDEX blobDigestForLinks ON blob(digest);
                CREATE TABLE linkBySlot (
                    blob INTEGER NOT NULL,
                    upstream TEXT NOT NULL,
                    repository TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    PRIMARY KEY (blob, upstream, repository)
                ) WITHOUT ROWID;
                INSERT OR REPLACE INTO linkBySlot (blob, upstream, repository, digest)
                    SELECT blob.id, repositoryLink.upstream, repositoryLink.repository, repositoryLink.digest
                    FROM repositoryLink JOIN blob ON blob.digest = repositoryLink.digest ORDER BY blob.id;
                DROP TABLE repositoryLink;
                DROP INDEX blobDigestForLinks;
                ALTER TABLE linkBySlot RENAME TO repositoryLink;
                """)
        }
    }

    /// Whether `key` is linked to the blob `digest` stored in slot `row`.
    func isLinked(_ key: RepositoryKey, _ digest: Digest, row: Int64) async throws(StoreError) -> Bool {
        try await guarded {
            try await pool.read { db in
                try Bool.fetchOne(db, sql: "SELECT 1 FROM repositoryLink WHERE blob = ? AND upstream = ? AND repository = ? AND digest = ?",
                                  arguments: [row, key.upstream, key.repository.value, digest.description]) ?? false
            }
        }
    }

    /// Links `key` to the blob `digest` stored in slot `row`.
    func link(_ key: RepositoryKey, _ digest: Digest, row: Int64) async throws(StoreError) {
        try await guarded {
            try await pool.write { db in try Self.writeLink(db, key.upstream, key.repository.value, digest, row: row) }
        }
    }

    /// Repositories on `upstream` linked to the blob `digest` stored in slot `row`.
    func repositories(holding digest: Digest, row: Int64, upstream: String) throws(StoreError) -> [RepositoryName] {
        try guarded {
            try pool.read { db in
                try String.fetchAll(db, sql: "SELECT repository FROM repositoryLink WHERE blob = ? AND upstream = ? AND digest = ? LIMIT 8",
                                    arguments: [row, upstream, digest.description]).compactMap { try? RepositoryName($0) }
            }
        }
    }

    /// Writes one link; one a slot's previous blob left under the same names is replaced.
    static func writeLink(_ db: Database, _ upstream: String, _ repository: String, _ digest: Digest, row: Int64) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO repositoryLink (blob, upstream, repository, digest) VALUES (?, ?, ?, ?)")
            .execute(arguments: [row, upstream, repository, digest.description])
    }

    /// Removes one link (a deletion in that repository).
    static func deleteLink(_ db: Database, _ upstream: String, _ repository: String, _ digest: Digest, row: Int64) throws {
        try db.cachedStatement(sql: "DELETE FROM repositoryLink WHERE blob = ? AND upstream = ? AND repository = ? AND digest = ?")
            .execute(arguments: [row, upstream, repository, digest.description])
    }

    /// Removes every link of the blob `digest` in slot `row` (the blob leaves the store).
    static func deleteLinks(_ db: Database, _ digest: Digest, row: Int64) throws {
        try db.cachedStatement(sql: "DELETE FROM repositoryLink WHERE blob = ? AND digest = ?").execute(arguments: [row, digest.description])
    }
}
