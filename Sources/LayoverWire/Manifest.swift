import Foundation

/// A content descriptor inside a manifest.
public struct Descriptor: Sendable, Equatable, Codable {
    public var mediaType: String?
    public var digest: Digest
    public var size: Int64

    public init(mediaType: String?, digest: Digest, size: Int64) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
    }

    enum CodingKeys: String, CodingKey { case mediaType, digest, size }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mediaType = try container.decodeIfPresent(String.self, forKey: .mediaType)
        let text = try container.decode(String.self, forKey: .digest)
        do { digest = try Digest(parsing: text) } catch {
            throw DecodingError.dataCorruptedError(forKey: .digest, in: container, debugDescription: "invalid digest \(text)")
        }
        size = try container.decode(Int64.self, forKey: .size)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(mediaType, forKey: .mediaType)
        try container.encode(digest.description, forKey: .digest)
        try container.encode(size, forKey: .size)
    }
}

/// A manifest (image manifest, index, or a BuildKit cache in either form) kept as its original
/// bytes, with the descriptors it references parsed out. Its digest is of the bytes as received.
public struct Manifest: Sendable {
    /// The largest manifest accepted, in bytes.
    public static let maximumSize = 4 * 1024 * 1024

    /// The bytes exactly as received.
    public let bytes: [UInt8]
    /// The media type: the `Content-Type` it came with, else its `mediaType` field.
    public let mediaType: String
    /// The SHA-256 digest of `bytes`.
    public let digest: Digest
    /// `config`, when present.
    public let config: Descriptor?
    /// `layers[]` of an image manifest.
    public let layers: [Descriptor]
    /// `manifests[]` of an index (for a BuildKit cache index, these are layer blobs).
    public let manifests: [Descriptor]
    /// `subject`, when present (OCI 1.1 referrers).
    public let subject: Descriptor?
    /// `artifactType`, else the config's media type (what the referrers API reports).
    public let artifactType: String?
    /// Top-level `annotations`.
    public let annotations: [String: String]?

    private struct Shape: Decodable {
        var schemaVersion: Int?
        var mediaType: String?
        var config: Descriptor?
        var layers: [Descriptor]?
        var manifests: [Descriptor]?
        var subject: Descriptor?
        var artifactType: String?
        var annotations: [String: String]?
    }

    /// Parses and size-checks `bytes`. `contentType` wins over the embedded `mediaType`.
    public init(bytes: [UInt8], contentType: String?) throws(WireError) {
        guard bytes.count <= Self.maximumSize else { throw .manifestTooLarge(bytes.count) }
        let shape: Shape
        do {
            shape = try JSONDecoder().decode(Shape.self, from: Data(bytes))
        } catch {
            throw .invalidManifest("manifest is not valid JSON: \(error)")
        }
        // A media type is compared with `Accept` entries: parameters (`; charset=utf-8`) are dropped.
        let declared = contentType.map(MediaType.essence).flatMap { $0.isEmpty || $0 == "application/json" ? nil : $0 }
        guard let mediaType = declared ?? shape.mediaType ?? Self.inferredMediaType(shape) else {
            throw .invalidManifest("manifest has no media type")
        }
        guard shape.schemaVersion == 2 || shape.schemaVersion == nil && mediaType.hasPrefix("application/vnd.oci") else {
            throw .invalidManifest("unsupported schemaVersion")
        }
        self.bytes = bytes
        self.mediaType = mediaType
        self.digest = Digest.sha256(of: bytes)
        self.config = shape.config
        self.layers = shape.layers ?? []
        self.manifests = shape.manifests ?? []
        self.subject = shape.subject
        self.artifactType = shape.artifactType ?? shape.config?.mediaType
        self.annotations = shape.annotations
    }

    private static func inferredMediaType(_ shape: Shape) -> String? {
        if shape.manifests != nil { return MediaType.ociIndex }
        if shape.config != nil { return MediaType.ociManifest }
        return nil
    }

    /// Whether the manifest's bytes have `digest` (of either algorithm).
    public func matches(_ digest: Digest) -> Bool {
        if digest.algorithm == .sha256 { return digest == self.digest }
        var hasher = DigestHasher(digest.algorithm)
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize() == digest
    }

    /// Every descriptor this manifest references, config first.
    public var references: [Descriptor] {
        (config.map { [$0] } ?? []) + layers + manifests
    }

    /// Whether this is a BuildKit cache (a cacheconfig config, or an index holding one).
    public var isBuildKitCache: Bool {
        config?.mediaType == MediaType.buildkitCacheConfig
            || manifests.contains { $0.mediaType == MediaType.buildkitCacheConfig }
    }
}
