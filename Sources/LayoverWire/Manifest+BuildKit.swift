extension Manifest {
    /// Which of BuildKit's two cache shapes a manifest has (PROTOCOL.md §1).
    public enum CacheForm: String, Sendable {
        /// `image-manifest=true`: an image manifest whose config is the cacheconfig.
        case manifest
        /// `image-manifest=false`: an index whose entries are the layers and the cacheconfig.
        case index
    }

    /// Whether manifest `bytes` can be a BuildKit cache, without parsing them: false only when
    /// they cannot hold the cacheconfig's media type, i.e. neither its text appears nor any `\u`
    /// escape that could spell it (its name has no other escapable character). Cheap enough for
    /// every first read of a manifest; `cacheForm` decides for those it lets through.
    public static func mayBeBuildKitCache(_ bytes: [UInt8]) -> Bool {
        let mark = Array("vnd.buildkit.cacheconfig.v0".utf8)
        return bytes.withUnsafeBufferPointer { bytes in
            guard bytes.count >= mark.count else { return false }
            for index in 0..<bytes.count {
                if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") { return true }
                if bytes[index] == mark[0], index + mark.count <= bytes.count,
                   mark.indices.allSatisfy({ bytes[index + $0] == mark[$0] }) { return true }
            }
            return false
        }
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
