import Foundation
import Testing
@testable import LayoverWire

@Suite("Manifest")
struct ManifestTests {
    static func digest(_ byte: Character) -> String { "sha256:" + String(repeating: byte, count: 64) }
    static let layerType = "application/vnd.oci.image.layer.v1.tar+gzip"
    static let configType = "application/vnd.oci.image.config.v1+json"

    static let ociManifest = """
        {
          "schemaVersion": 2,
          "mediaType": "application/vnd.oci.image.manifest.v1+json",
          "config": {"mediaType": "\(configType)", "digest": "\(digest("c"))", "size": 7023},
          "layers": [
            {"mediaType": "\(layerType)", "digest": "\(digest("1"))", "size": 32654},
            {"mediaType": "\(layerType)", "digest": "\(digest("2"))", "size": 16724}
          ],
          "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
        }
        """

    static let ociIndex = """
        {
          "schemaVersion": 2,
          "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "\(digest("a"))", "size": 528,
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "\(digest("b"))", "size": 529,
             "platform": {"architecture": "arm64", "os": "linux"}}
          ]
        }
        """

    /// BuildKit's `image-manifest=true` cache export: an OCI manifest whose config is the cacheconfig.
    static let buildKitManifest = """
        {
          "schemaVersion": 2,
          "mediaType": "application/vnd.oci.image.manifest.v1+json",
          "config": {"mediaType": "application/vnd.buildkit.cacheconfig.v0", "digest": "\(digest("c"))", "size": 1200},
          "layers": [
            {"mediaType": "\(layerType)", "digest": "\(digest("1"))", "size": 100,
             "annotations": {"buildkit/createdat": "2024-01-01T00:00:00Z"}}
          ]
        }
        """

    /// BuildKit's default cache export: an OCI index whose manifests[] are layer blobs plus the cacheconfig.
    static let buildKitIndex = """
        {
          "schemaVersion": 2,
          "mediaType": "application/vnd.oci.image.index.v1+json",
          "manifests": [
            {"mediaType": "\(layerType)", "digest": "\(digest("1"))", "size": 100},
            {"mediaType": "\(layerType)", "digest": "\(digest("2"))", "size": 200},
            {"mediaType": "application/vnd.buildkit.cacheconfig.v0", "digest": "\(digest("c"))", "size": 1200}
          ]
        }
        """

    @Test func parsesAnOCIImageManifest() throws {
        let bytes = Array(Self.ociManifest.utf8)
        let manifest = try Manifest(bytes: bytes, contentType: nil)
        #expect(manifest.bytes == bytes)
        #expect(manifest.mediaType == MediaType.ociManifest)
        #expect(manifest.digest == Digest.sha256(of: bytes))
        let config = try #require(manifest.config)
        #expect(config == Descriptor(mediaType: Self.configType, digest: try Digest(parsing: Self.digest("c")), size: 7023))
        #expect(manifest.layers == [
            Descriptor(mediaType: Self.layerType, digest: try Digest(parsing: Self.digest("1")), size: 32654),
            Descriptor(mediaType: Self.layerType, digest: try Digest(parsing: Self.digest("2")), size: 16724),
        ])
        #expect(manifest.manifests.isEmpty)
        #expect(manifest.subject == nil)
        #expect(manifest.references.map(\.digest.description) == [Self.digest("c"), Self.digest("1"), Self.digest("2")])
        #expect(!manifest.isBuildKitCache)
    }

    @Test func parsesAnOCIIndexAndInfersItsMediaType() throws {
        let manifest = try Manifest(bytes: Array(Self.ociIndex.utf8), contentType: nil)
        #expect(manifest.mediaType == MediaType.ociIndex)
        #expect(manifest.config == nil)
        #expect(manifest.layers.isEmpty)
        #expect(manifest.manifests.map(\.digest.description) == [Self.digest("a"), Self.digest("b")])
        #expect(manifest.manifests.map(\.size) == [528, 529])
        #expect(manifest.references.map(\.digest.description) == [Self.digest("a"), Self.digest("b")])
        #expect(!manifest.isBuildKitCache)
    }

    @Test func infersAnOCIManifestFromItsConfig() throws {
        let text = """
            {"schemaVersion": 2, "config": {"digest": "\(Self.digest("c"))", "size": 2}, "layers": []}
            """
        let manifest = try Manifest(bytes: Array(text.utf8), contentType: nil)
        #expect(manifest.mediaType == MediaType.ociManifest)
        #expect(manifest.config?.mediaType == nil)
    }

    @Test func recognisesABuildKitCacheManifest() throws {
        let manifest = try Manifest(bytes: Array(Self.buildKitManifest.utf8), contentType: MediaType.ociManifest)
        #expect(manifest.isBuildKitCache)
        #expect(manifest.mediaType == MediaType.ociManifest)
        #expect(manifest.config?.mediaType == MediaType.buildkitCacheConfig)
        #expect(manifest.references.map(\.digest.description) == [Self.digest("c"), Self.digest("1")])
    }

    @Test func recognisesABuildKitCacheIndexOfLayerBlobs() throws {
        let manifest = try Manifest(bytes: Array(Self.buildKitIndex.utf8), contentType: nil)
        #expect(manifest.isBuildKitCache)
        #expect(manifest.mediaType == MediaType.ociIndex)
        #expect(manifest.config == nil)
        #expect(manifest.manifests.map(\.mediaType) == [Self.layerType, Self.layerType, MediaType.buildkitCacheConfig])
        #expect(manifest.manifests.map(\.size) == [100, 200, 1200])
        #expect(manifest.references.count == 3)
    }

    @Test("only bytes that can name the cacheconfig may be a cache: either form, or a \\u escape that may spell it")
    func mayBeBuildKitCacheWithoutParsing() throws {
        #expect(Manifest.mayBeBuildKitCache(Array(Self.buildKitManifest.utf8)))
        #expect(Manifest.mayBeBuildKitCache(Array(Self.buildKitIndex.utf8)))
        #expect(!Manifest.mayBeBuildKitCache(Array(Self.ociManifest.utf8)))
        #expect(!Manifest.mayBeBuildKitCache(Array("vnd.buildkit.cacheconfig.v".utf8)))
        // JSON may spell any character as \uXXXX: such bytes are let through to the parser.
        let escaped = Self.buildKitManifest.replacingOccurrences(of: "vnd.buildkit.cacheconfig", with: "vnd.buildkit.\\u0063acheconfig")
        #expect(Manifest.mayBeBuildKitCache(Array(escaped.utf8)))
        #expect(try Manifest(bytes: Array(escaped.utf8), contentType: nil).cacheForm == .manifest)
        // `\/` is the only other escape its text could take, and the mark has no slash in it.
        let slashed = Self.buildKitIndex.replacingOccurrences(of: "application/vnd.buildkit", with: "application\\/vnd.buildkit")
        #expect(Manifest.mayBeBuildKitCache(Array(slashed.utf8)))
        #expect(try Manifest(bytes: Array(slashed.utf8), contentType: nil).cacheForm == .index)
    }

    @Test func theContentTypeWinsOverTheEmbeddedMediaType() throws {
        let manifest = try Manifest(bytes: Array(Self.ociManifest.utf8), contentType: MediaType.dockerManifest)
        #expect(manifest.mediaType == MediaType.dockerManifest)
    }

    @Test("a generic or empty content type defers to the embedded media type",
          arguments: ["", "application/json", "application/json; charset=utf-8"])
    func genericContentTypesAreIgnored(_ contentType: String) throws {
        let manifest = try Manifest(bytes: Array(Self.ociManifest.utf8), contentType: contentType)
        #expect(manifest.mediaType == MediaType.ociManifest)
    }

    @Test func parsesTheSubject() throws {
        let text = """
            {"schemaVersion": 2, "mediaType": "\(MediaType.ociManifest)",
             "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": "\(Self.digest("e"))", "size": 2},
             "layers": [],
             "subject": {"mediaType": "\(MediaType.ociManifest)", "digest": "\(Self.digest("f"))", "size": 321}}
            """
        let manifest = try Manifest(bytes: Array(text.utf8), contentType: nil)
        #expect(manifest.subject == Descriptor(mediaType: MediaType.ociManifest, digest: try Digest(parsing: Self.digest("f")), size: 321))
        #expect(!manifest.references.contains { $0.digest.description == Self.digest("f") })
    }

    @Test func anOCIManifestMayOmitSchemaVersion() throws {
        let text = #"{"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}"#
        let manifest = try Manifest(bytes: Array(text.utf8), contentType: nil)
        #expect(manifest.mediaType == MediaType.ociIndex)
        #expect(manifest.manifests.isEmpty)
    }

    @Test func aDockerManifestMustDeclareSchemaVersion2() {
        let text = #"{"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "layers": []}"#
        #expect(throws: WireError.invalidManifest("unsupported schemaVersion")) {
            try Manifest(bytes: Array(text.utf8), contentType: nil)
        }
    }

    @Test func schemaVersion1IsRefused() {
        let text = #"{"schemaVersion": 1, "name": "library/alpine", "tag": "3", "fsLayers": []}"#
        #expect(throws: WireError.invalidManifest("unsupported schemaVersion")) {
            try Manifest(bytes: Array(text.utf8), contentType: "application/vnd.docker.distribution.manifest.v1+prettyjws")
        }
    }

    @Test func aManifestWithoutAnyMediaTypeIsRefused() {
        #expect(throws: WireError.invalidManifest("manifest has no media type")) {
            try Manifest(bytes: Array(#"{"schemaVersion": 2}"#.utf8), contentType: nil)
        }
    }

    @Test("invalid JSON is refused as an invalid manifest", arguments: [
        "", "not json", "{", "[]", "\"text\"",
        #"{"schemaVersion": 2, "config": {"digest": "sha256:nothex", "size": 1}}"#,
        #"{"schemaVersion": 2, "config": {"digest": "sha256:\#(String(repeating: "a", count: 64))"}}"#,
        #"{"schemaVersion": "two", "mediaType": "application/vnd.oci.image.manifest.v1+json"}"#,
    ])
    func refusesInvalidJSON(_ text: String) {
        let error = #expect(throws: WireError.self) {
            try Manifest(bytes: Array(text.utf8), contentType: MediaType.ociManifest)
        }
        guard case .invalidManifest(let detail)? = error else {
            Issue.record("expected invalidManifest, got \(String(describing: error))")
            return
        }
        #expect(detail.hasPrefix("manifest is not valid JSON: "))
    }

    @Test func refusesManifestsAbove4MiB() {
        let bytes = [UInt8](repeating: UInt8(ascii: " "), count: 4 * 1024 * 1024 + 1)
        #expect(Manifest.maximumSize == 4_194_304)
        #expect(throws: WireError.manifestTooLarge(4_194_305)) {
            try Manifest(bytes: bytes, contentType: MediaType.ociManifest)
        }
    }

    @Test func acceptsAManifestOfExactly4MiB() throws {
        var bytes = Array(Self.ociManifest.utf8)
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: Manifest.maximumSize - bytes.count)
        let manifest = try Manifest(bytes: bytes, contentType: nil)
        #expect(manifest.bytes.count == Manifest.maximumSize)
        #expect(manifest.layers.count == 2)
    }

    @Test func theDigestIsOfTheBytesAsReceived() throws {
        let compact = try Manifest(bytes: Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.utf8), contentType: nil)
        let spaced = try Manifest(bytes: Array(#"{ "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [] }"#.utf8), contentType: nil)
        #expect(compact.digest != spaced.digest)
        #expect(compact.digest == Digest.sha256(of: compact.bytes))
    }

    @Test func matchesDigestsOfEitherAlgorithm() throws {
        let manifest = try Manifest(bytes: Array(Self.ociIndex.utf8), contentType: nil)
        #expect(manifest.matches(Digest.sha256(of: Array(Self.ociIndex.utf8))))
        #expect(!manifest.matches(try Digest(parsing: Self.digest("0"))))
        var hasher = DigestHasher(.sha512)
        Array(Self.ociIndex.utf8).withUnsafeBytes { hasher.update($0) }
        let sha512 = hasher.finalize()
        #expect(sha512.algorithm == .sha512)
        #expect(manifest.matches(sha512))
        #expect(!manifest.matches(try Digest(parsing: "sha512:" + String(repeating: "0", count: 128))))
    }

    @Test func descriptorsRoundTripThroughJSON() throws {
        let descriptor = Descriptor(mediaType: Self.layerType, digest: try Digest(parsing: Self.digest("1")), size: 42)
        let data = try JSONEncoder().encode(descriptor)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["digest"] as? String == Self.digest("1"))
        #expect(object["size"] as? Int == 42)
        #expect(object["mediaType"] as? String == Self.layerType)
        #expect(try JSONDecoder().decode(Descriptor.self, from: data) == descriptor)

        let bare = Descriptor(mediaType: nil, digest: try Digest(parsing: Self.digest("2")), size: 1)
        let bareObject = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(bare)) as? [String: Any])
        #expect(bareObject.keys.sorted() == ["digest", "size"])
    }
}
