/// Media types Layover recognises; everything else is ordinary content.
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let buildkitCacheConfig = "application/vnd.buildkit.cacheconfig.v0"

    /// What Layover asks upstreams for when a client sent no `Accept`.
    public static let defaultManifestAccept = [ociIndex, ociManifest, dockerManifestList, dockerManifest]

    /// Whether `mediaType` names a manifest or an index (a descriptor of that type is pushed and
    /// fetched through the manifests API, never the blobs API).
    public static func isManifest(_ mediaType: String?) -> Bool {
        guard let mediaType else { return false }
        return defaultManifestAccept.contains(mediaType)
    }

    /// A `Content-Type` value without its parameters, trimmed and lowercased (RFC 9110 §8.3.1:
    /// type and subtype are case-insensitive): what is stored and compared with `Accept`.
    public static func essence(_ contentType: String) -> String {
        String(contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            .trimmingSpaces.lowercased()
    }

    /// Whether a manifest of `mediaType` satisfies a client's `Accept` list.
    /// An empty list, `*/*` or `application/*` accepts anything.
    public static func isAccepted(_ mediaType: String, by accept: [String]) -> Bool {
        if accept.isEmpty { return true }
        for entry in accept {
            let type = entry.split(separator: ";").first.map { $0.trimmingSpaces } ?? ""
            if type == "*/*" || type == "application/*" || type == mediaType { return true }
        }
        return false
    }
}
