import Foundation
import LayoverTestSupport
import Testing

/// Orphans are evicted first, but never what a pending replication job needs.
@Suite("BuildKit pinned orphans", .endToEnd)
struct BuildKitPinnedOrphanTests {
    @Test("a replaced cache whose push to another upstream is not replicated yet is never evicted")
    func pinnedReplacedCache() async throws {
        // Upstream `dead` refuses every connection: a push to it stays pending, its blobs pinned.
        let fixture = try await Fixture(layoverArguments: ["--max-bytes", "3300000", "--upstream", "dead=http://127.0.0.1:9"])
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [200_000, 400_000])
        _ = try await TestHTTP.shared.get("\(fixture.url("team/app"))/manifests/v1", headers: BuildKitCacheTests.accept)
        for layer in image.layers {
            #expect(try await TestHTTP.shared.get("\(fixture.url("team/app"))/blobs/\(layer.digest)").status == 200)
        }

        // The first cache, imported from `up`, then pushed by digest to `dead` (not replicated).
        let (layers, configDigest, config) = try await BuildKitCacheTests.seedLayers(fixture.seeder, "team/cache")
        let manifest = BuildKitCacheTests.cacheManifest(layers, configDigest: configDigest, config: config)
        let digest = try await fixture.seeder.pushManifest("team/cache", "buildcache", manifest, mediaType: "application/vnd.oci.image.manifest.v1+json")
        try await BuildKitPrefetchTests.resolve(fixture)
        try await eventually { Set(layers.map(\.digest)).isSubset(of: fixture.storedBlobs()) }
        let pusher = OCIPusher(base: "\(fixture.layover.url)/v2/dead/team/cache")
        for bytes in layers.map(\.bytes) + [config] { try await pusher.pushBlobMonolithic(bytes) }
        #expect(try await pusher.putManifest(digest, manifest, mediaType: "application/vnd.oci.image.manifest.v1+json").status == 201)

        // The next build rewrites `up`'s tag: the first cache is orphaned, and still pinned.
        let second = try await BuildKitPrefetchTests.seedCache(fixture, .manifest)
        try await BuildKitPrefetchTests.resolve(fixture)
        try await eventually { try await fixture.metrics().value("layover_store_evictions_total") >= 1 }
        try await eventually { try await fixture.metrics().value("layover_prefetch_layers_total", ["result": "fetched"]) >= 4 }

        let stored = fixture.storedBlobs()
        #expect(Set(layers.map(\.digest)).isSubset(of: stored), "pinned by the pending push: kept")
        #expect(Set(second.layers.map(\.digest)).isSubset(of: stored))
        #expect(!Set(image.layers.map(\.digest)).isSubset(of: stored), "room was made from what was not protected")
        let metrics = try await fixture.metrics()
        #expect(metrics.value("layover_store_orphaned_bytes") >= Double(layers.reduce(0) { $0 + $1.bytes.count }))
        #expect(metrics.value("layover_store_orphans_evicted_total") == 0)
    }
}
