import LayoverWire

/// A blob pushed to `repository` held against eviction for `seconds`, until that repository's
/// manifest names it (see `BlobStore.holdForPush`).
public struct PushHold: Sendable, Equatable {
    public var repository: RepositoryKey
    public var seconds: Double

    public init(repository: RepositoryKey, seconds: Double) {
        self.repository = repository
        self.seconds = seconds
    }
}
