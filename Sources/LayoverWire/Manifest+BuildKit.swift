extension Manifest {
    /// Which of BuildKit's two cache shapes a manifest has (PROTOCOL.md §1).
    public enum CacheForm: String, Sendable {
        /// `image-manifest=true`: an image manifest whose config is the cacheconfig.
        case manifest
        /// `image-manifest=false`: an index whose entries are the layers and the cacheconfig.
        case index
    }

    /// The cache form, nil when this is not a BuildKit cache.
    public var cacheForm: CacheForm? {
        if config?.mediaType == MediaType.buildkitCacheConfig { return .manifest }
        if manifests.contains(where: { $0.mediaType == MediaType.buildkitCacheConfig }) { return .index }
        return nil
    }

    /// The layer blobs of a BuildKit cache, in the manifest's order (the cacheconfig itself left
    /// out); empty when this is not a cache.
    public var cacheLayers: [Descriptor] {
        switch cacheForm {
        case .manifest: layers
        case .index: manifests.filter { $0.mediaType != MediaType.buildkitCacheConfig }
        case nil: []
        }
    }
}
