import GRDB
import LayoverWire
import Synchronization

/// How durable a committed index transaction is: SQLite's `synchronous` in WAL mode.
public enum IndexSynchronous: String, Sendable {
    /// Every commit is fsynced: a `201` survives an OS crash or power loss.
    case full
    /// Commits are fsynced at checkpoints only: faster acknowledgements, but an OS crash or power
    /// loss may roll back acknowledged pushes (a process crash cannot).
    case normal
}

/// The SQLite index (WAL mode): blob sizes, media types and recency, repository links, tags.
///
/// Every method is safe to call from any task; GRDB serialises writes and runs reads
/// concurrently. Callers outside the store never see this type.
final class BlobIndex: Sendable {
    let pool: DatabasePool
    /// Runs the log's checkpoints outside the writer's commits.
    private let checkpointer: IndexCheckpointer
    private let closed = Mutex(false)

    init(path: String, synchronous: IndexSynchronous = .full) throws(StoreError) {
        do {
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            // A 201 is a promise: a committed transaction must survive power loss, which WAL's
            // default (NORMAL) does not guarantee. NORMAL only when the operator chose it.
            let pragma = synchronous == .full ? "FULL" : "NORMAL"
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = \(pragma)")
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(IndexCheckpointer.writerThresholdFrames)")
                // Every commit changes pages all over the index (the blob's row, its links, its
                // hold): with SQLite's default 2 MiB the writer read most of them back from the
                // file system at a million blobs (a push cost +16 % CPU there against 1,000 blobs,
                // +6 % with this). The readers keep the default.
                if !db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -\(Self.writerCacheKiB)") }
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            checkpointer = try IndexCheckpointer(path: path, writer: pool)
        } catch {
            throw .index("cannot open \(path): \(error)")
        }
    }

    /// Copies the log into the database and empties it, then closes every connection and the
    /// log index file. Waits for accesses in progress; later ones throw. Throws when a
    /// connection cannot be closed (it then closes when this index is released).
    ///
    /// The pool closes its writer before its readers, and a read-only connection closing last
    /// leaves the log behind: without the copy, the next open rebuilt the log's index from up
    /// to 128 MiB of it (about a second at a million blobs).
    /// Once closed, closing again does nothing (SQLite must not be called on a closed
    /// connection: a checkpoint on one dereferenced a null handle).
    func close() throws {
        try closed.withLock { closed in
            guard !closed else { return }
            try checkpointer.stop()
            _ = try? pool.writeWithoutTransaction { try $0.checkpoint(.truncate) }
            try pool.close()
            checkpointer.closeLogIndex()
            closed = true
        }
    }

    /// The writer's page cache, in KiB.
    static let writerCacheKiB = 16_384

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE blob (
                    digest TEXT PRIMARY KEY NOT NULL,
                    size INTEGER NOT NULL,
                    mediaType TEXT,
                    lastAccess DOUBLE NOT NULL
                );
                CREATE INDEX blob_lastAccess ON blob(lastAccess);
                CREATE TABLE repositoryLink (
                    upstream TEXT NOT NULL,
                    repository TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    PRIMARY KEY (upstream, repository, digest)
                ) WITHOUT ROWID;
                CREATE TABLE tag (
                    upstream TEXT NOT NULL,
                    repository TEXT NOT NULL,
                    tag TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    mediaType TEXT NOT NULL,
                    confirmedAt DOUBLE NOT NULL,
                    PRIMARY KEY (upstream, repository, tag)
                ) WITHOUT ROWID;
                """)
        }
        registerReplicationMigration(&migrator)
        registerReferrersMigration(&migrator)
        registerHoldsMigration(&migrator)
        registerDeletesMigration(&migrator)
        registerOrphansMigration(&migrator)
        // Nothing reads blobs in recency order from the index (the store orders them in memory
        // when it opens), and keeping that order cost every insert and every recency update one
        // more page written: in a store of a million blobs, a random one.
        migrator.registerMigration("v7-no-recency-index") { db in
            try db.execute(sql: "DROP INDEX blob_lastAccess")
        }
        // Repository links keyed by digest first: the key alone answers both the check of one
        // link and the mount sources of a digest, so a new link writes one B-tree, not two (the
        // table and a digest index: in a store of a million blobs, two random pages per push).
        migrator.registerMigration("v8-links-by-digest") { db in
            try db.execute(sql: """
                CREATE TABLE repositoryLinkByDigest (
                    upstream TEXT NOT NULL,
                    repository TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    PRIMARY KEY (upstream, digest, repository)
                ) WITHOUT ROWID;
                INSERT INTO repositoryLinkByDigest (upstream, repository, digest)
                    SELECT upstream, repository, digest FROM repositoryLink;
                DROP TABLE repositoryLink;
                ALTER TABLE repositoryLinkByDigest RENAME TO repositoryLink;
                """)
        }
        // Blobs keyed by digest alone: the rowid table and its unique digest index were two
        // B-trees per insert and delete (the index a random page in a large store); every query
        // finds a blob by its digest, so the rowid served nothing.
        migrator.registerMigration("v9-blobs-by-digest") { db in
            try db.execute(sql: """
                CREATE TABLE blobByDigest (
                    digest TEXT PRIMARY KEY NOT NULL,
                    size INTEGER NOT NULL,
                    mediaType TEXT,
                    lastAccess DOUBLE NOT NULL
                ) WITHOUT ROWID;
                INSERT INTO blobByDigest (digest, size, mediaType, lastAccess)
                    SELECT digest, size, mediaType, lastAccess FROM blob ORDER BY digest;
                DROP TABLE blob;
                ALTER TABLE blobByDigest RENAME TO blob;
                """)
        }
        // Blobs by the id of their slot in the store's in-memory table (`BlobTable`): a new
        // blob's row goes at the end of the table or where an evicted blob's was, not at a
        // random leaf among a million keyed by digest (one random page fewer per push, which
        // each checkpoint wrote back and synced). Nothing looks a row up by digest: the store
        // has every digest's slot in memory, and reads the rows only when it opens.
        migrator.registerMigration("v10-blobs-by-slot") { db in
            try db.execute(sql: """
                CREATE TABLE blobBySlot (
                    id INTEGER PRIMARY KEY,
                    digest TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    mediaType TEXT,
                    lastAccess DOUBLE NOT NULL
                );
                INSERT INTO blobBySlot (digest, size, mediaType, lastAccess)
                    SELECT digest, size, mediaType, lastAccess FROM blob ORDER BY lastAccess;
                DROP TABLE blob;
                ALTER TABLE blobBySlot RENAME TO blob;
                """)
        }
        registerLinksBySlotMigration(&migrator)
        // Last accesses in a table of their own, two numbers a row (about 200 rows a page
        // against the blob table's 25): a recency flush of 10,000 blobs of a million-blob store
        // rewrote about 10,000 pages of `blob` (some 80 MB through the log and its checkpoint);
        // in `access` it rewrites at most its 5,000 pages. A blob's last access is the later of
        // `blob.lastAccess` (its storing) and its `access` row. An `access` row left by a slot's
        // earlier blob is older than the slot's next blob: it changes nothing, and is not deleted
        // (only a file adopted after a crash, stored with its file's time, may inherit a later
        // one and look more recently used than it was).
        migrator.registerMigration("v12-access-table") { db in
            try db.execute(sql: "CREATE TABLE access (id INTEGER PRIMARY KEY, lastAccess DOUBLE NOT NULL)")
        }
        return migrator
    }

    /// Every blob, least recently used first (ties in slot order), its last access read as the
    /// store reads it when it opens (`forEachBlobRow`).
    func allBlobs() throws(StoreError) -> [BlobRecord] {
        var blobs: [(id: Int64, record: BlobRecord)] = []
        try forEachBlobRow { id, digest, size, mediaType, lastAccess in
            guard let digest = try? Digest(parsing: String(decoding: digest, as: UTF8.self)) else { return }
            blobs.append((id, BlobRecord(digest: digest, size: size, mediaType: mediaType, lastAccess: lastAccess)))
        }
        return blobs.sorted { ($0.record.lastAccess, $0.id) < ($1.record.lastAccess, $1.id) }.map(\.record)
    }

    /// Records a blob whose slot in the store's table is `row`.
    func insert(_ record: BlobRecord, row: Int64) async throws(StoreError) {
        try await guarded {
            try await pool.write { db in try Self.writeBlob(db, record, row: row) }
        }
    }

    /// Gives a stored blob's row a media type (a plain blob pushed again as a manifest); a row
    /// no longer that blob's is left alone.
    func setMediaType(_ mediaType: String, row: Int64, digest: Digest) async throws(StoreError) {
        try await guarded {
            try await pool.write { db in
                try db.execute(sql: "UPDATE blob SET mediaType = ? WHERE id = ? AND digest = ?",
                               arguments: [mediaType, row, digest.description])
            }
        }
    }

    /// Writes a blob's row at `row`, replacing what is there: a row left by the slot's previous
    /// blob, whose delete has not run yet, goes (that delete then finds nothing).
    static func writeBlob(_ db: Database, _ record: BlobRecord, row: Int64) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO blob (id, digest, size, mediaType, lastAccess) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [row, record.digest.description, record.size, record.mediaType, record.lastAccess])
    }

    /// Records many blobs (each with its slot) and repository links (each with its blob's slot)
    /// in one transaction.
    func insert(_ records: [(record: BlobRecord, row: Int64)], links: [(key: RepositoryKey, digest: Digest, row: Int64)]) async throws(StoreError) {
        try await guarded {
            try await pool.write { db in
                for (record, row) in records { try Self.writeBlob(db, record, row: row) }
                for link in links { try Self.writeLink(db, link.key.upstream, link.key.repository.value, link.digest, row: link.row) }
            }
        }
    }

    /// Drops blobs' rows (each named by its slot and digest: a slot taken by another blob since
    /// keeps that blob's row) and what only a stored blob needs.
    func delete(_ rows: [(row: Int64, digest: Digest)]) async throws(StoreError) {
        guard !rows.isEmpty else { return }
        try await guarded {
            try await pool.write { db in
                for (row, digest) in rows { try Self.deleteRows(db, row: row, digest) }
            }
        }
    }

    /// Writes recency in transactions of `batch` rows, between which other writes go first, in
    /// slot order (each page of `access` then goes through the log about once). A slot taken by
    /// another blob since the times were taken gets an older time than its blob's storing, which
    /// changes nothing.
    func updateRecency(_ times: [(row: Int64, time: Double)], batch: Int = 256) async throws(StoreError) {
        let times = times.sorted { $0.row < $1.row }
        for start in stride(from: 0, to: times.count, by: batch) {
            let slice = times[start..<min(start + batch, times.count)]
            try await guarded {
                try await pool.write { db in
                    let statement = try db.cachedStatement(sql: Self.recordAccess)
                    for (row, time) in slice { try statement.execute(arguments: [row, time]) }
                }
            }
        }
    }

    /// Records a blob's last access in its slot's `access` row, never moving it back.
    static let recordAccess = """
        INSERT INTO access (id, lastAccess) VALUES (?, ?)
        ON CONFLICT (id) DO UPDATE SET lastAccess = MAX(lastAccess, excluded.lastAccess)
        """

    /// Drops a blob's row and what only a stored blob needs: its links, its orphan mark and,
    /// for a manifest, the references recorded for it.
    private static func deleteRows(_ db: Database, row: Int64, _ digest: Digest) throws {
        try db.cachedStatement(sql: "DELETE FROM blob WHERE id = ? AND digest = ?").execute(arguments: [row, digest.description])
        try deleteLinks(db, digest, row: row)
        try db.cachedStatement(sql: "DELETE FROM orphan WHERE digest = ?").execute(arguments: [digest.description])
        try db.cachedStatement(sql: "DELETE FROM manifestReference WHERE manifest = ?").execute(arguments: [digest.description])
    }

    func tag(_ key: RepositoryKey, _ tag: Tag) async throws(StoreError) -> TagRecord? {
        try await guarded {
            try await pool.read { db in
                guard let row = try Row.fetchOne(db, sql: """
                    SELECT digest, mediaType, confirmedAt, pushPending FROM tag WHERE upstream = ? AND repository = ? AND tag = ?
                    """, arguments: [key.upstream, key.repository.value, tag.value]),
                    let digest = try? Digest(parsing: row["digest"] as String)
                else { return nil }
                return TagRecord(digest: digest, mediaType: row["mediaType"], confirmedAt: row["confirmedAt"],
                                 pushPending: (row["pushPending"] as Int) != 0)
            }
        }
    }

    /// Records where a tag points as seen upstream; a tag pushed and not yet replicated is kept.
    /// Returns whether the tag now points somewhere new, and where it pointed before (nil: a new tag).
    @discardableResult
    func setTag(_ key: RepositoryKey, _ tag: Tag, _ record: TagRecord) async throws(StoreError) -> (moved: Bool, previous: Digest?) {
        try await guarded {
            try await pool.write { db in
                let previous = try String.fetchOne(db, sql: "SELECT digest FROM tag WHERE upstream = ? AND repository = ? AND tag = ?",
                                                   arguments: [key.upstream, key.repository.value, tag.value])
                try db.execute(sql: """
                    INSERT INTO tag (upstream, repository, tag, digest, mediaType, confirmedAt, pushPending)
                    VALUES (?, ?, ?, ?, ?, ?, 0)
                    ON CONFLICT (upstream, repository, tag) DO UPDATE
                    SET digest = excluded.digest, mediaType = excluded.mediaType, confirmedAt = excluded.confirmedAt
                    WHERE pushPending = 0
                    """, arguments: [key.upstream, key.repository.value, tag.value, record.digest.description,
                                     record.mediaType, record.confirmedAt])
                let moved = db.changesCount > 0 && previous != record.digest.description
                return (moved, previous.flatMap { try? Digest(parsing: $0) })
            }
        }
    }

    func guarded<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do { return try body() } catch { throw .index("\(error)") }
    }

    func guarded<T>(_ body: () async throws -> T) async throws(StoreError) -> T {
        do { return try await body() } catch { throw .index("\(error)") }
    }
}
