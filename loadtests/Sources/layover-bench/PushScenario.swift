import Foundation
import LayoverTestSupport

/// Write-back: a BuildKit-style cache pushed to Layover (upstream behind a slow link) against
/// the same push sent straight to that upstream over the same kind of link.
struct PushScenario {
    let layers: Int
    let totalMiB: Int
    let largeBlobMiB: Int
    let layover: String

    func run(upstream: UpstreamRegistry, report: Report) async throws {
        let link = Relay.LinkShape.megabits(200, latency: .milliseconds(20))
        let directLink = try await Relay(upstreamPort: upstream.port, shape: link)
        let layoverLink = try await Relay(upstreamPort: upstream.port, shape: link)
        defer {
            directLink.close()
            layoverLink.close()
        }
        let storage = try TemporaryDirectory()
        defer { storage.remove() }
        let process = try await LayoverProcess(upstreamURL: layoverLink.url, storage: storage.path + "/store", binary: layover)
        defer { process.stop(signal: SIGKILL) }
        let pid = process.process!.process.processIdentifier
        say("# push: \(layers) layers, \(totalMiB) MiB, over 20 ms + 200 Mbit/s to the upstream")

        let direct = try await timePush(makeCache(), to: OCIPusher(base: "\(directLink.url)/v2/bench/direct"))
        report.add("direct", "push-ack", direct, "s")

        let cache = makeCache()
        let acknowledged = try await timePush(cache, to: OCIPusher(base: "\(process.url)/v2/up/bench/cache"))
        report.add("layover", "push-ack", acknowledged, "s")
        report.add("layover", "push-ack-speedup", direct / acknowledged, "x")
        report.add("layover", "push-peak-rss-at-ack", ProcessReading.peakRSSMiB(pid), "MiB")

        let clock = ContinuousClock()
        let start = clock.now
        while try await TestHTTP.shared.get("\(upstream.url)/v2/bench/cache/manifests/buildcache",
                                            headers: [("Accept", "application/vnd.oci.image.manifest.v1+json")]).body != cache.manifest {
            guard clock.now - start < .seconds(600) else { throw TestFailure("replication did not complete") }
            try await Task.sleep(for: .milliseconds(200))
        }
        report.add("layover", "push-replicated-after-ack", seconds(clock.now - start), "s")
        report.add("layover", "push-peak-rss-after-replication", ProcessReading.peakRSSMiB(pid), "MiB")

        let big = randomBytes(largeBlobMiB << 20)
        let bigStart = clock.now
        try await OCIPusher(base: "\(process.url)/v2/up/bench/big").pushBlobMonolithic(big)
        report.add("layover", "push-large-blob-ack", seconds(clock.now - bigStart), "s")
        report.add("layover", "push-peak-rss", ProcessReading.peakRSSMiB(pid), "MiB")
    }

    struct Cache {
        var blobs: [[UInt8]]
        var manifest: [UInt8]
    }

    /// `layers` random layers, a cacheconfig, and an OCI manifest whose config is the cacheconfig.
    func makeCache() -> Cache {
        let blobs = (0..<layers).map { _ in randomBytes((totalMiB << 20) / layers) }
        let config = Array("{\"layers\":[],\"records\":[],\"nonce\":\"\(UUID())\"}".utf8)
        let descriptors = blobs.map { "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"\(TestHTTP.digest(of: $0))\",\"size\":\($0.count)}" }
        let manifest = Array("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.buildkit.cacheconfig.v0","digest":"\(TestHTTP.digest(of: config))","size":\(config.count)},"layers":[\(descriptors.joined(separator: ","))]}
            """.utf8)
        return Cache(blobs: blobs + [config], manifest: manifest)
    }

    /// Pushes like BuildKit (4 blobs at a time, POST then monolithic PUT, then the manifest by
    /// tag); returns the seconds until the manifest's 201.
    func timePush(_ cache: Cache, to pusher: OCIPusher) async throws -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = cache.blobs[...]
            for _ in 0..<4 {
                guard let blob = pending.popFirst() else { break }
                group.addTask { try await pusher.pushBlobMonolithic(blob) }
            }
            while try await group.next() != nil {
                if let blob = pending.popFirst() { group.addTask { try await pusher.pushBlobMonolithic(blob) } }
            }
        }
        let answer = try await pusher.putManifest("buildcache", cache.manifest, mediaType: "application/vnd.oci.image.manifest.v1+json")
        guard answer.status == 201 else { throw TestFailure("manifest push answered \(answer.status): \(answer.text)") }
        return seconds(clock.now - start)
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
