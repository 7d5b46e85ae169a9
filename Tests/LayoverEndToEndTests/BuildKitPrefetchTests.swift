import Foundation
import LayoverTestSupport
import Testing

/// Prefetch on resolve: reading a BuildKit cache manifest warms its layers in the background,
/// through the same one-download-per-digest path client requests use.
@Suite("BuildKit prefetch", .endToEnd)
struct BuildKitPrefetchTests {
    enum Form: String, CaseIterable, Sendable {
        case manifest, index

        var mediaType: String {
            self == .manifest ? "application/vnd.oci.image.manifest.v1+json" : "application/vnd.oci.image.index.v1+json"
        }
    }

    struct SeededCache {
        var layers: [(digest: String, bytes: [UInt8])]
        var digest: String
        var layerBytes: Int { layers.reduce(0) { $0 + $1.bytes.count } }
    }

    /// A synthetic cache (layers of 300 kB and 1.2 MB) pushed to the upstream as `team/cache:buildcache`.
    static func seedCache(_ fixture: Fixture, _ form: Form, repository: String = "team/cache") async throws -> SeededCache {
        let (layers, configDigest, config) = try await BuildKitCacheTests.seedLayers(fixture.seeder, repository)
        let bytes = form == .manifest ? BuildKitCacheTests.cacheManifest(layers, configDigest: configDigest, config: config)
                                      : BuildKitCacheTests.cacheIndex(layers, configDigest: configDigest, config: config)
        let digest = try await fixture.seeder.pushManifest(repository, "buildcache", bytes, mediaType: form.mediaType)
        return SeededCache(layers: layers, digest: digest)
    }

    /// Resolves `tag` as BuildKit does: `HEAD` by tag, then `GET` by digest.
    static func resolve(_ fixture: Fixture, _ repository: String = "team/cache", tag: String = "buildcache") async throws {
        let head = try await TestHTTP.shared.head("\(fixture.url(repository))/manifests/\(tag)", headers: BuildKitCacheTests.accept)
        #expect(head.status == 200)
        let digest = try #require(head.header("docker-content-digest"))
        let get = try await TestHTTP.shared.get("\(fixture.url(repository))/manifests/\(digest)", headers: BuildKitCacheTests.accept)
        #expect(get.status == 200)
    }

    @Test("resolving a cache manifest fetches its layers before any is requested", arguments: Form.allCases)
    func prefetchOnResolve(form: Form) async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let cache = try await Self.seedCache(fixture, form)
        let before = fixture.relay.bytesFromUpstream
        try await Self.resolve(fixture)
        try await eventually { Set(cache.layers.map(\.digest)).isSubset(of: fixture.storedBlobs()) }
        #expect(fixture.relay.bytesFromUpstream - before >= cache.layerBytes)
        let metrics = try await fixture.metrics()
        #expect(metrics.value("layover_prefetch_manifests_total") == 1)
        try await eventually { try await fixture.metrics().value("layover_prefetch_layers_total", ["result": "fetched"]) == 2 }

        // The import that follows is served from the store.
        let warm = fixture.relay.bytesFromUpstream
        for layer in cache.layers {
            let answer = try await TestHTTP.shared.get("\(fixture.url("team/cache"))/blobs/\(layer.digest)")
            #expect(answer.body == layer.bytes)
        }
        #expect(fixture.relay.bytesFromUpstream == warm)
    }

    @Test("a layer requested while its prefetch runs joins it: one upstream download")
    func joinsThePrefetch() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let cache = try await Self.seedCache(fixture, .manifest)
        fixture.relay.throttle(bytesPerSecond: 400_000)
        let before = fixture.relay.bytesFromUpstream
        try await Self.resolve(fixture)
        let resolved = fixture.relay.bytesFromUpstream
        // A layer's bytes are on their way before the client asks for it.
        try await eventually { fixture.relay.bytesFromUpstream > resolved + 50_000 }
        let large = cache.layers[1]
        #expect(!fixture.storedBlobs().contains(large.digest), "the link is slow enough that the prefetch is still running")
        let answer = try await TestHTTP.shared.get("\(fixture.url("team/cache"))/blobs/\(large.digest)")
        #expect(answer.status == 200)
        #expect(answer.body == large.bytes)
        try await eventually { Set(cache.layers.map(\.digest)).isSubset(of: fixture.storedBlobs()) }
        let fetched = fixture.relay.bytesFromUpstream - before
        #expect(fetched >= cache.layerBytes)
        #expect(fetched < cache.layerBytes + 100_000, "one upstream download per layer (a second one would add \(large.bytes.count) bytes)")
        #expect(try await fixture.metrics().value("layover_coalesced_requests_total") >= 1)
    }

    @Test("an ordinary image manifest triggers no prefetch")
    func ordinaryImage() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [200_000, 400_000])
        let cache = try await Self.seedCache(fixture, .manifest)
        try await Self.resolve(fixture, "team/app", tag: "v1")
        // Then a cache, whose prefetch ending marks that the image's resolve was looked at too.
        try await Self.resolve(fixture)
        try await eventually { Set(cache.layers.map(\.digest)).isSubset(of: fixture.storedBlobs()) }
        #expect(fixture.storedBlobs().isDisjoint(with: image.layers.map(\.digest)))
        #expect(try await fixture.metrics().value("layover_prefetch_manifests_total") == 1)
    }

    @Test("the byte cap stops a prefetch at the first layer past it")
    func byteCap() async throws {
        let (directory, arguments) = try PushModeTests.config("upstreams:\n  up:\n    url: http://unused\n    prefetch: {maxBytes: 500000}\n")
        defer { directory.remove() }
        let fixture = try await Fixture(layoverArguments: arguments)
        defer { fixture.shutdown() }
        let cache = try await Self.seedCache(fixture, .index)
        let before = fixture.relay.bytesFromUpstream
        try await Self.resolve(fixture)
        try await eventually { try await fixture.metrics().value("layover_prefetch_layers_total", ["result": "fetched"]) == 1 }
        let metrics = try await fixture.metrics()
        #expect(metrics.value("layover_prefetch_layers_total", ["result": "capped"]) == 1)
        #expect(fixture.storedBlobs().contains(cache.layers[0].digest))
        #expect(!fixture.storedBlobs().contains(cache.layers[1].digest))
        #expect(fixture.relay.bytesFromUpstream - before < cache.layers[1].bytes.count)
    }

    @Test("prefetch off for the upstream: a cache manifest fetches nothing more")
    func off() async throws {
        let (directory, arguments) = try PushModeTests.config("upstreams:\n  up:\n    url: http://unused\n    prefetch: {cacheManifests: false}\n")
        defer { directory.remove() }
        let fixture = try await Fixture(layoverArguments: arguments)
        defer { fixture.shutdown() }
        let cache = try await Self.seedCache(fixture, .manifest)
        try await Self.resolve(fixture)
        // The first layer, fetched next as BuildKit does; the second is never asked for.
        let answer = try await TestHTTP.shared.get("\(fixture.url("team/cache"))/blobs/\(cache.layers[0].digest)")
        #expect(answer.body == cache.layers[0].bytes)
        #expect(!fixture.storedBlobs().contains(cache.layers[1].digest))
        #expect(try await fixture.metrics().value("layover_prefetch_manifests_total") == 0)
    }
}
