import LayoverWire

/// What a client deleted in a repository.
public enum DeleteTarget: Sendable, Equatable {
    /// A manifest by digest: its tags here go with it.
    case manifest(Digest)
    /// A tag only; the manifest it points to stays.
    case tag(Tag)
    case blob(Digest)

    /// The tombstone's reference: the tag, or the digest (the two never look alike).
    public var reference: String {
        switch self {
        case .manifest(let digest), .blob(let digest): digest.description
        case .tag(let tag): tag.value
        }
    }

    /// The replication job's operation for this deletion.
    public var operation: ReplicationJob.Operation {
        switch self {
        case .manifest: .deleteManifest
        case .tag: .deleteTag
        case .blob: .deleteBlob
        }
    }
}

/// A reference deleted in a repository here whose deletion has not yet reached the upstream.
public struct Tombstone: Hashable, Sendable {
    public var repository: RepositoryKey
    /// A tag, or a digest's text.
    public var reference: String

    public init(repository: RepositoryKey, reference: String) {
        self.repository = repository
        self.reference = reference
    }
}
