import LayoverWire

/// A write waiting to reach its upstream: a push (the manifest, by tag or digest, and every blob
/// it needs) or a deletion (of a manifest by digest, a tag, or a blob).
public struct ReplicationJob: Sendable, Equatable {
    /// Assigned by the index; increases with every push.
    public var id: Int64
    public var repository: RepositoryKey
    /// What the job writes upstream.
    public var operation: Operation
    /// The tag the manifest was pushed under (or the tag deleted); nil for a push by digest.
    public var tag: Tag?
    /// The manifest pushed or deleted; for a deleted tag, the manifest it pointed to; for a
    /// deleted blob, the blob.
    public var manifestDigest: Digest
    public var mediaType: String
    public var state: State
    /// Attempts made so far.
    public var attempts: Int
    /// Not to be tried again before this time (seconds since 1970).
    public var nextAttemptAt: Double
    public var lastError: String?
    public var createdAt: Double
    /// An attempt was running when this was read: at startup, one the process died during.
    public var inProgress: Bool
    /// Attempts in a row that the process died during (a crash loop dead-letters the job).
    public var interruptions: Int

    /// The write a job carries upstream.
    public enum Operation: String, Sendable {
        /// The manifest and everything it needs.
        case push
        /// `DELETE manifests/<digest>`.
        case deleteManifest
        /// `DELETE manifests/<tag>`: the tag only (never the manifest behind it).
        case deleteTag
        /// `DELETE blobs/<digest>`.
        case deleteBlob

        /// Whether the job deletes something upstream.
        public var isDeletion: Bool { self != .push }
    }

    public enum State: String, Sendable {
        /// Waiting for its first attempt, or for a retry after a transient failure.
        case pending
        /// Failed permanently; kept (with its blobs pinned) for an operator to see.
        case dead
    }

    public init(id: Int64, repository: RepositoryKey, tag: Tag?, manifestDigest: Digest, mediaType: String,
                state: State, attempts: Int, nextAttemptAt: Double, lastError: String?, createdAt: Double,
                inProgress: Bool = false, interruptions: Int = 0, operation: Operation = .push) {
        self.id = id
        self.operation = operation
        self.repository = repository
        self.tag = tag
        self.manifestDigest = manifestDigest
        self.mediaType = mediaType
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.createdAt = createdAt
        self.inProgress = inProgress
        self.interruptions = interruptions
    }
}
