import Foundation
import LayoverTestSupport
import Testing

/// `mode=max` rewrites a cache tag every build: the cache it replaced is evicted before older
/// content that is still tagged.
@Suite("BuildKit orphans", .endToEnd)
struct BuildKitOrphanTests {
    @Test("under a small budget an older, still tagged image survives while a replaced cache's layers are evicted")
    func replacedCacheGoesFirst() async throws {
        // Image 600 kB, each cache 1.5 MB: the second cache does not fit beside everything else.
        let fixture = try await Fixture(layoverArguments: ["--max-bytes", "3300000"])
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [200_000, 400_000])
        let manifest = try await TestHTTP.shared.get("\(fixture.url("team/app"))/manifests/v1", headers: BuildKitCacheTests.accept)
        #expect(manifest.status == 200)
        for digest in [image.configDigest] + image.layers.map(\.digest) {
            let blob = try await TestHTTP.shared.get("\(fixture.url("team/app"))/blobs/\(digest)")
            #expect(blob.status == 200)
        }
        try await eventually { Set(image.layers.map(\.digest)).isSubset(of: fixture.storedBlobs()) }

        let first = try await BuildKitPrefetchTests.seedCache(fixture, .manifest)
        try await BuildKitPrefetchTests.resolve(fixture)
        try await eventually { Set(first.layers.map(\.digest)).isSubset(of: fixture.storedBlobs()) }

        // The next build rewrites the tag upstream; the import that follows revalidates it.
        let second = try await BuildKitPrefetchTests.seedCache(fixture, .manifest)
        try await BuildKitPrefetchTests.resolve(fixture)
        try await eventually { Set(second.layers.map(\.digest)).isSubset(of: fixture.storedBlobs()) }

        let stored = fixture.storedBlobs()
        #expect(Set(image.layers.map(\.digest)).isSubset(of: stored), "the older image is still tagged: kept")
        #expect(!Set(first.layers.map(\.digest)).isSubset(of: stored), "the replaced cache's layers went first")
        let metrics = try await fixture.metrics()
        #expect(metrics.value("layover_store_orphans_evicted_total") >= 1)
        #expect(metrics.names.contains("layover_store_orphaned_bytes"))
    }
}
