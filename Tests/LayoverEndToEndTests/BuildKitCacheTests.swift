import Foundation
import LayoverTestSupport
import Testing

/// BuildKit registry caches, imported the way BuildKit does: HEAD the tag, GET the manifest by
/// digest, GET the cacheconfig, then layers.
@Suite("BuildKit cache", .endToEnd)
struct BuildKitCacheTests {
    static let accept = [
        "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json", "*/*",
    ].map { ("Accept", $0) }

    struct Cache {
        var manifest: [UInt8]
        var digest: String
        var mediaType: String
        var configDigest: String
        var config: [UInt8]
        var layers: [(digest: String, bytes: [UInt8])]
    }

    static func seedLayers(_ seeder: Seeder, _ repository: String) async throws -> ([(digest: String, bytes: [UInt8])], String, [UInt8]) {
        var layers: [(digest: String, bytes: [UInt8])] = []
        for size in [300_000, 1_200_000] {
            let bytes = randomBytes(size)
            layers.append((try await seeder.pushBlob(repository, bytes), bytes))
        }
        let config = Array("""
            {"layers":[\(layers.map { "{\"blob\":\"\($0.digest)\",\"parent\":-1}" }.joined(separator: ","))],"records":[{"digest":"sha256:\(String(repeating: "a", count: 64))","layers":[{"layer":0}]}]}
            """.utf8)
        return (layers, try await seeder.pushBlob(repository, config), config)
    }

    static func layerDescriptor(_ layer: (digest: String, bytes: [UInt8])) -> String {
        "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"\(layer.digest)\",\"size\":\(layer.bytes.count),\"annotations\":{\"buildkit/createdat\":\"2026-11-26T00:00:00Z\"}}"
    }

    /// A cache in the `image-manifest=true` form: an OCI manifest whose config is the cacheconfig.
    static func cacheManifest(_ layers: [(digest: String, bytes: [UInt8])], configDigest: String, config: [UInt8]) -> [UInt8] {
        Array("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.buildkit.cacheconfig.v0","digest":"\(configDigest)","size":\(config.count)},"layers":[\(layers.map(layerDescriptor).joined(separator: ","))]}
            """.utf8)
    }

    /// A cache in the index form: an OCI index whose entries are the layers, then the cacheconfig.
    static func cacheIndex(_ layers: [(digest: String, bytes: [UInt8])], configDigest: String, config: [UInt8]) -> [UInt8] {
        let entries = layers.map(layerDescriptor) + ["{\"mediaType\":\"application/vnd.buildkit.cacheconfig.v0\",\"digest\":\"\(configDigest)\",\"size\":\(config.count)}"]
        return Array("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\(entries.joined(separator: ","))]}
            """.utf8)
    }

    @Test("an OCI manifest with a cacheconfig config imports byte-identical")
    func imageManifestForm() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let (layers, configDigest, config) = try await Self.seedLayers(fixture.seeder, "team/cache")
        let manifest = Self.cacheManifest(layers, configDigest: configDigest, config: config)
        let digest = try await fixture.seeder.pushManifest("team/cache", "buildcache", manifest, mediaType: "application/vnd.oci.image.manifest.v1+json")
        try await importCache(fixture, Cache(manifest: manifest, digest: digest, mediaType: "application/vnd.oci.image.manifest.v1+json",
                                             configDigest: configDigest, config: config, layers: layers))
    }

    @Test("an OCI index whose entries are layers imports byte-identical")
    func indexForm() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let (layers, configDigest, config) = try await Self.seedLayers(fixture.seeder, "team/cache")
        let index = Self.cacheIndex(layers, configDigest: configDigest, config: config)
        let digest = try await fixture.seeder.pushManifest("team/cache", "buildcache", index, mediaType: "application/vnd.oci.image.index.v1+json")
        try await importCache(fixture, Cache(manifest: index, digest: digest, mediaType: "application/vnd.oci.image.index.v1+json",
                                             configDigest: configDigest, config: config, layers: layers))
    }

    private func importCache(_ fixture: Fixture, _ cache: Cache) async throws {
        let base = fixture.url("team/cache")
        let head = try await TestHTTP.shared.head("\(base)/manifests/buildcache", headers: Self.accept)
        #expect(head.status == 200)
        #expect(head.header("docker-content-digest") == cache.digest)
        #expect(head.header("content-length") == String(cache.manifest.count))
        #expect(head.header("content-type") == cache.mediaType)

        let manifest = try await TestHTTP.shared.get("\(base)/manifests/\(cache.digest)", headers: Self.accept)
        #expect(manifest.body == cache.manifest)
        #expect(manifest.header("content-type") == cache.mediaType)
        let config = try await TestHTTP.shared.get("\(base)/blobs/\(cache.configDigest)")
        #expect(config.body == cache.config)
        for layer in cache.layers {
            let answer = try await TestHTTP.shared.get("\(base)/blobs/\(layer.digest)")
            #expect(answer.status == 200)
            #expect(answer.body == layer.bytes)
        }

        let before = fixture.relay.bytesFromUpstream
        let again = try await TestHTTP.shared.get("\(base)/manifests/\(cache.digest)", headers: Self.accept)
        for layer in cache.layers {
            _ = try await TestHTTP.shared.get("\(base)/blobs/\(layer.digest)")
        }
        #expect(again.body == cache.manifest)
        #expect(fixture.relay.bytesFromUpstream == before, "a warm import must not go upstream at all")
    }
}
