import Foundation
import LayoverTestSupport
import Testing

/// `layover caches`: each BuildKit cache's size, last push and import, what its last import
/// fetched, and what its last rewrite orphaned.
@Suite("layover caches", .endToEnd)
struct BuildKitCachesCommandTests {
    /// Pushes a cache (layers of the given sizes, a cacheconfig) through Layover as BuildKit exports it.
    static func export(_ fixture: Fixture, tag: String, sizes: [Int]) async throws -> (digest: String, layers: [Int], config: Int) {
        let pusher = OCIPusher(base: fixture.url("team/cache"))
        var layers: [(digest: String, bytes: [UInt8])] = []
        for size in sizes {
            let bytes = randomBytes(size)
            layers.append((try await pusher.pushBlobMonolithic(bytes), bytes))
        }
        let config = Array("{\"layers\":[],\"records\":[],\"nonce\":\"\(UUID())\"}".utf8)
        let configDigest = try await pusher.pushBlobMonolithic(config)
        let manifest = BuildKitCacheTests.cacheManifest(layers, configDigest: configDigest, config: config)
        let answer = try await pusher.putManifest(tag, manifest, mediaType: "application/vnd.oci.image.manifest.v1+json")
        #expect(answer.status == 201)
        return (TestHTTP.digest(of: manifest), sizes, config.count)
    }

    static func caches(_ fixture: Fixture) async throws -> [[String: Any]] {
        let run = try await LayoverProcess.run(["caches", "--server", fixture.layover.url, "--json"])
        #expect(run.status == 0, "\(run.output)")
        let object = try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any]
        return object?["caches"] as? [[String: Any]] ?? []
    }

    @Test("after a push, a rewrite and imports: sizes, forms, store-versus-fetched bytes and orphaned bytes")
    func pushAndImport() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let first = try await Self.export(fixture, tag: "buildcache", sizes: [100_000, 200_000])
        let second = try await Self.export(fixture, tag: "buildcache", sizes: [300_000])
        try await BuildKitPrefetchTests.resolve(fixture)

        // A cache only the upstream has, imported cold.
        let cold = try await BuildKitPrefetchTests.seedCache(fixture, .index, repository: "team/other")
        try await BuildKitPrefetchTests.resolve(fixture, "team/other")

        let caches = try await Self.caches(fixture)
        let pushed = try #require(caches.first { $0["repository"] as? String == "team/cache" })
        #expect(pushed["upstream"] as? String == "up")
        #expect(pushed["tag"] as? String == "buildcache")
        #expect(pushed["digest"] as? String == second.digest)
        #expect(pushed["form"] as? String == "manifest")
        #expect(pushed["layers"] as? Int == 1)
        #expect(pushed["bytes"] as? Int == 300_000 + second.config)
        #expect(pushed["lastPush"] as? Double != nil && pushed["lastImport"] as? Double != nil)
        #expect(pushed["importFromStoreBytes"] as? Int == 300_000, "pushed here: every layer was stored")
        #expect(pushed["importFetchedBytes"] as? Int == 0)
        // The rewrite orphaned the first cache's manifest, config and both layers.
        let orphaned = try #require(pushed["orphanedByLastRewriteBytes"] as? Int)
        #expect(orphaned >= 300_000 + first.config && orphaned < 302_000 + first.config)

        let imported = try #require(caches.first { $0["repository"] as? String == "team/other" })
        #expect(imported["form"] as? String == "index")
        #expect(imported["layers"] as? Int == 2)
        #expect(imported["importFromStoreBytes"] as? Int == 0)
        #expect(imported["importFetchedBytes"] as? Int == cold.layerBytes)
        #expect(imported["lastPush"] == nil)

        let table = try await LayoverProcess.run(["caches", "--server", fixture.layover.url])
        #expect(table.status == 0)
        #expect(table.output.contains("up/team/cache:buildcache"))
        #expect(table.output.contains("(100.0% from store)"))
        #expect(table.output.contains("(0.0% from store)"))
        let status = try await LayoverProcess.run(["status", "--server", fixture.layover.url])
        #expect(status.output.contains("up/team/other:buildcache"), "the status page lists the caches too")
    }

    @Test("a cache resolved again once warm is recorded again, all from the store")
    func warmImportRecorded() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let cold = try await BuildKitPrefetchTests.seedCache(fixture, .manifest, repository: "team/other")
        try await BuildKitPrefetchTests.resolve(fixture, "team/other")
        // Once the prefetch has stored every layer, an import is answered from the parsed
        // manifest kept in memory: it must still be recorded, with every byte from the store.
        var imported: [String: Any]?
        let deadline = ContinuousClock.now + .seconds(20)
        repeat {
            try await Task.sleep(for: .milliseconds(200))
            try await BuildKitPrefetchTests.resolve(fixture, "team/other")
            imported = try await Self.caches(fixture).first { $0["repository"] as? String == "team/other" }
        } while imported?["importFromStoreBytes"] as? Int != cold.layerBytes && ContinuousClock.now < deadline
        #expect(imported?["importFromStoreBytes"] as? Int == cold.layerBytes)
        #expect(imported?["importFetchedBytes"] as? Int == 0)
    }
}
