import Foundation
import LayoverTestSupport

/// Issue 13's proof. A BuildKit-style import of a synthetic cache over a slow link (20 ms,
/// 200 Mbit/s), the way BuildKit does it: the manifest, then the layers one after another, each
/// asked for only once the previous one is in and a pause that stands for the build step between
/// them. Straight from the upstream, through a cold Layover (which prefetches the cache's layers
/// when its manifest is resolved), and through the same Layover warm; the figure is the summed
/// time the client waits for the manifest and layers (the pauses are not waiting). Then the
/// orphan figures of one cache tag rewritten `rewrites` times under a small budget.
struct BuildKitScenario {
    let layover: String
    let layerMiB = [1, 2, 4, 8, 16, 32, 64]
    let pause: Duration = .seconds(1)
    let rewrites = 10

    func run(report: Report) async throws {
        let upstream = try await UpstreamRegistry()
        defer { upstream.stop() }
        let cache = try await SyntheticCache.seed(Seeder(registry: upstream.url), repository: "bench/bkcache", layerMiB: layerMiB)
        let link = Relay.LinkShape(latency: .milliseconds(20), bytesPerSecond: 200_000_000 / 8)
        say("# buildkit: a cache of \(cache.blobs.count) blobs (\(cache.bytes >> 20) MiB) over 20 ms / 200 Mbit/s, "
            + "blobs one after the other with a \(pause) pause between")
        let direct = try await Relay(upstreamPort: upstream.port, shape: link)
        let throughLayover = try await Relay(upstreamPort: upstream.port, shape: link)
        defer { direct.close(); throughLayover.close() }
        let storage = try TemporaryDirectory()
        defer { storage.remove() }
        let server = try await LayoverProcess(upstreamURL: throughLayover.url, storage: storage.path + "/store", binary: layover)
        defer { server.stop(signal: SIGKILL) }

        let unique = Double(cache.bytes + cache.manifest.count)
        let straight = try await importLikeBuildKit(cache, from: "\(direct.url)/v2")
        report.add("upstream", "buildkit-wait-seconds", straight.waited, "s")
        report.add("upstream", "buildkit-import-seconds", straight.total, "s")
        let cold = try await importLikeBuildKit(cache, from: "\(server.url)/v2/up")
        report.add("layover-cold", "buildkit-wait-seconds", cold.waited, "s")
        report.add("layover-cold", "buildkit-import-seconds", cold.total, "s")
        report.add("layover-cold", "buildkit-upstream-per-unique", Double(throughLayover.bytesFromUpstream) / unique, "x")
        let warm = try await importLikeBuildKit(cache, from: "\(server.url)/v2/up")
        report.add("layover-warm", "buildkit-wait-seconds", warm.waited, "s")
        report.add("layover-warm", "buildkit-import-seconds", warm.total, "s")
        try await rewriteOneTag(report: report)
    }

    /// The manifest, then every blob in order, each after a pause (not counted) once the one
    /// before is complete and verified; the summed waits and the whole import's time.
    private func importLikeBuildKit(_ cache: SyntheticCache, from base: String) async throws -> (waited: Double, total: Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let url = "\(base)/\(cache.repository)"
        var waited = Duration.zero
        let asked = clock.now
        let manifest = try await TestHTTP.shared.get("\(url)/manifests/\(cache.tag)", headers: [("Accept", "application/vnd.oci.image.manifest.v1+json")])
        guard manifest.status == 200, manifest.body == cache.manifest else { throw TestFailure("manifest from \(url): \(manifest.status)") }
        waited += clock.now - asked
        for blob in cache.blobs {
            try await Task.sleep(for: pause)
            let asked = clock.now
            let answer = try await TestHTTP.shared.streamedDigest("\(url)/blobs/\(blob.digest)")
            guard answer.status == 200, answer.digest == blob.digest else { throw TestFailure("\(blob.digest) from \(url): \(answer.status)") }
            waited += clock.now - asked
        }
        return (waited / .seconds(1), (clock.now - start) / .seconds(1))
    }

    /// A Layover holding pushes (`push: local`) under a 64 MiB budget: an image pushed first, then
    /// one cache tag pushed `rewrites` times with 16 MiB of new layers each. Reports what was
    /// orphaned and evicted, and whether the first image and the latest cache are whole.
    private func rewriteOneTag(report: Report) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try "upstreams:\n  up:\n    url: http://127.0.0.1:9\n    push: local\n".write(toFile: directory.path + "/layover.yaml", atomically: true, encoding: .utf8)
        let server = try await LayoverProcess(upstreamURL: "http://127.0.0.1:9", storage: directory.path + "/store",
                                              extraArguments: ["--config", directory.path + "/layover.yaml", "--max-bytes", "64MiB"], binary: layover)
        defer { server.stop(signal: SIGKILL) }
        let image = try await push(to: OCIPusher(base: "\(server.url)/v2/up/bench/base"), tag: "v1", layers: 2, configType: "application/vnd.oci.image.config.v1+json")
        var latest: [String] = []
        for _ in 0..<rewrites {
            latest = try await push(to: OCIPusher(base: "\(server.url)/v2/up/bench/rewritten"), tag: "buildcache", layers: 4,
                                    configType: "application/vnd.buildkit.cacheconfig.v0")
        }
        let metrics = try await TestHTTP.shared.get("\(server.url)/metrics").text
        func metric(_ name: String) -> Double {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
                .flatMap { Double($0.split(separator: " ").last ?? "") } ?? .nan
        }
        report.add("layover", "buildkit-rewrites", Double(rewrites), "pushes of one tag")
        report.add("layover", "buildkit-orphans-evicted", metric("layover_store_orphans_evicted_total"), "blobs")
        report.add("layover", "buildkit-orphan-bytes-evicted", metric("layover_store_orphan_evicted_bytes_total") / 1_048_576, "MiB")
        report.add("layover", "buildkit-orphaned-bytes-now", metric("layover_store_orphaned_bytes") / 1_048_576, "MiB")
        var firstWhole = 1.0, latestWhole = 1.0
        for digest in image where try await TestHTTP.shared.head("\(server.url)/v2/up/bench/base/blobs/\(digest)").status != 200 { firstWhole = 0 }
        for digest in latest where try await TestHTTP.shared.head("\(server.url)/v2/up/bench/rewritten/blobs/\(digest)").status != 200 { latestWhole = 0 }
        report.add("layover", "buildkit-first-image-whole", firstWhole, "1 = every blob stored")
        report.add("layover", "buildkit-latest-cache-whole", latestWhole, "1 = every blob stored")
    }

    /// Pushes `layers` fresh 4 MiB layers and a config, then a manifest to `tag`; its blob digests.
    private func push(to pusher: OCIPusher, tag: String, layers: Int, configType: String) async throws -> [String] {
        var descriptors: [(digest: String, size: Int)] = []
        for _ in 0..<layers {
            let bytes = randomBytes(4 << 20)
            descriptors.append((try await pusher.pushBlobMonolithic(bytes), bytes.count))
        }
        let config = Array("{\"layers\":\(layers)}".utf8)
        let configDigest = try await pusher.pushBlobMonolithic(config)
        let manifest = SyntheticCache.manifest(configType: configType, config: (configDigest, config.count), layers: descriptors)
        let answer = try await pusher.putManifest(tag, manifest, mediaType: "application/vnd.oci.image.manifest.v1+json")
        guard answer.status == 201 else { throw TestFailure("manifest PUT: \(answer.status) \(answer.text)") }
        return descriptors.map(\.digest) + [configDigest]
    }
}
