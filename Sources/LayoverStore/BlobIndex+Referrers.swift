import GRDB
import LayoverWire

/// A manifest pushed here that names a `subject`: one entry of the referrers API's answer.
public struct ReferrerRecord: Sendable, Equatable {
    public var digest: Digest
    public var mediaType: String
    public var size: Int64
    public var artifactType: String?
    /// The manifest's annotations as JSON, passed through to the answer.
    public var annotationsJSON: String?

    public init(digest: Digest, mediaType: String, size: Int64, artifactType: String?, annotationsJSON: String?) {
        self.digest = digest
        self.mediaType = mediaType
        self.size = size
        self.artifactType = artifactType
        self.annotationsJSON = annotationsJSON
    }
}

extension BlobIndex {
    static func registerReferrersMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v3-referrers") { db in
            try db.execute(sql: """
                CREATE TABLE referrer (
                    upstream TEXT NOT NULL,
                    repository TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    digest TEXT NOT NULL,
                    mediaType TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    artifactType TEXT,
                    annotations TEXT,
                    PRIMARY KEY (upstream, repository, subject, digest)
                ) WITHOUT ROWID;
                """)
        }
    }

    func addReferrer(_ repository: RepositoryKey, subject: Digest, _ record: ReferrerRecord) async throws(StoreError) {
        try await guarded {
            try await pool.write { db in
                try db.execute(sql: """
                    INSERT OR REPLACE INTO referrer (upstream, repository, subject, digest, mediaType, size, artifactType, annotations)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [repository.upstream, repository.repository.value, subject.description, record.digest.description,
                                     record.mediaType, record.size, record.artifactType, record.annotationsJSON])
            }
        }
    }

    func referrers(_ repository: RepositoryKey, subject: Digest) throws(StoreError) -> [ReferrerRecord] {
        try guarded {
            try pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT digest, mediaType, size, artifactType, annotations FROM referrer
                    WHERE upstream = ? AND repository = ? AND subject = ? ORDER BY digest
                    """, arguments: [repository.upstream, repository.repository.value, subject.description]).compactMap { row in
                    guard let digest = try? Digest(parsing: row["digest"] as String) else { return nil }
                    return ReferrerRecord(digest: digest, mediaType: row["mediaType"], size: row["size"],
                                          artifactType: row["artifactType"], annotationsJSON: row["annotations"])
                }
            }
        }
    }
}

extension BlobStore {
    /// Records that `record` (a manifest stored here) refers to `subject` in `repository`.
    public func addReferrer(_ repository: RepositoryKey, subject: Digest, _ record: ReferrerRecord) async throws(StoreError) {
        try await index.addReferrer(repository, subject: subject, record)
    }

    /// Manifests pushed here that refer to `subject` in `repository`.
    public func referrers(_ repository: RepositoryKey, subject: Digest) -> [ReferrerRecord] {
        (try? index.referrers(repository, subject: subject)) ?? []
    }
}
