import LayoverWire

/// A push waiting to reach its upstream: the manifest (by tag or digest) and every blob it needs.
public struct ReplicationJob: Sendable, Equatable {
    /// Assigned by the index; increases with every push.
    public var id: Int64
    public var repository: RepositoryKey
    /// The tag the manifest was pushed under; nil for a push by digest.
    public var tag: Tag?
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

    public enum State: String, Sendable {
        /// Waiting for its first attempt, or for a retry after a transient failure.
        case pending
        /// Failed permanently; kept (with its blobs pinned) for an operator to see.
        case dead
    }

    public init(id: Int64, repository: RepositoryKey, tag: Tag?, manifestDigest: Digest, mediaType: String,
                state: State, attempts: Int, nextAttemptAt: Double, lastError: String?, createdAt: Double,
                inProgress: Bool = false, interruptions: Int = 0) {
        self.id = id
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
