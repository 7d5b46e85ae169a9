import LayoverWire

/// What the index knows of one stored blob.
public struct BlobRecord: Sendable, Equatable {
    public var digest: Digest
    /// The content length in bytes.
    public var size: Int64
    /// The media type a manifest was stored with; nil for plain blobs.
    public var mediaType: String?
    /// When the blob was last read or written, in seconds since 1970.
    public var lastAccess: Double

    public init(digest: Digest, size: Int64, mediaType: String?, lastAccess: Double) {
        self.digest = digest
        self.size = size
        self.mediaType = mediaType
        self.lastAccess = lastAccess
    }
}

/// Where a tag pointed when last seen.
public struct TagRecord: Sendable, Equatable {
    public var digest: Digest
    public var mediaType: String
    /// When the tag was last confirmed upstream (or pushed), in seconds since 1970.
    public var confirmedAt: Double
    /// Pushed through Layover and not yet replicated: this tag wins over the upstream's.
    public var pushPending: Bool

    public init(digest: Digest, mediaType: String, confirmedAt: Double, pushPending: Bool = false) {
        self.digest = digest
        self.mediaType = mediaType
        self.confirmedAt = confirmedAt
        self.pushPending = pushPending
    }
}

/// A repository on an upstream: the unit that repository links and tags belong to.
public struct RepositoryKey: Hashable, Sendable, CustomStringConvertible {
    /// The configured upstream name, e.g. `docker.io`.
    public var upstream: String
    public var repository: RepositoryName

    public init(upstream: String, repository: RepositoryName) {
        self.upstream = upstream
        self.repository = repository
    }

    public var description: String { "\(upstream)/\(repository)" }
}
