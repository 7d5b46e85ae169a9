import Foundation
import LayoverTestSupport
import Testing

/// An upstream that cannot be reached: pushes still succeed (acknowledged on local disk and
/// replicated once it is back), requests fail fast, cached tags are served stale, and the
/// circuit breaker closes by itself when the upstream answers again.
@Suite("Upstream outages", .endToEnd)
struct OutageTests {
    @Test("skopeo pushes while the upstream is down (HEAD of a blob not stored here is 404, not 502); replicated once it is back")
    func pushDuringOutage() async throws {
        let fixture = try await Fixture(layoverEnvironment: ["LAYOVER_LOG_LEVEL": "info"])
        defer { fixture.shutdown() }
        // A base layer pulled through another repository: stored here, not known to belong to team/out.
        let base = try await fixture.seeder.pushImage("team/base", tag: "v1", layerSizes: [400_000])
        let pulled = try TemporaryDirectory()
        defer { pulled.remove() }
        _ = try await Skopeo.copy(fixture.reference("team/base", "v1"), into: pulled.path + "/base")
        // The image to push shares that layer and adds one of its own.
        let own = try await fixture.seeder.pushImage("team/scratch", tag: "v1", layerSizes: [300_000], sharedLayers: base.layers)
        _ = try await Skopeo.copy("\(fixture.registry.url.dropFirst("http://".count))/team/scratch:v1", into: pulled.path + "/out")

        fixture.registry.stop()
        let head = try await TestHTTP.shared.head(fixture.url("team/out") + "/blobs/\(own.layers[1].digest)")
        #expect(head.status == 404, "HEAD of a blob not stored here while the upstream is down: \(head.status)")
        let sharedHead = try await TestHTTP.shared.head(fixture.url("team/out") + "/blobs/\(base.layers[0].digest)")
        #expect(sharedHead.status == 404, "HEAD of a blob stored here for another repository: \(sharedHead.status)")
        let clock = ContinuousClock()
        let started = clock.now
        try await Skopeo.push(directory: pulled.path + "/out", to: fixture.reference("team/out", "v1"))
        let elapsed = clock.now - started
        #expect(elapsed < .seconds(20), "the push took \(elapsed)")

        // What Layover acknowledged is what must reach the upstream, byte for byte.
        let accept = [("Accept", PushTests.ociManifest + ", application/vnd.docker.distribution.manifest.v2+json")]
        let acknowledged = try await TestHTTP.shared.get(fixture.url("team/out") + "/manifests/v1", headers: accept)
        #expect(acknowledged.status == 200)
        try await fixture.registry.start()
        do {
            try await eventually(timeout: .seconds(60)) {
                try await TestHTTP.shared.get(fixture.registry.url + "/v2/team/out/manifests/v1", headers: accept).body == acknowledged.body
            }
        } catch {
            let queue = try await TestHTTP.shared.get(fixture.layover.url + "/_layover/queue")
            Issue.record("not replicated: \(queue.text)\n\(fixture.layover.log)")
        }
        let manifest = try JSONSerialization.jsonObject(with: Data(acknowledged.body)) as? [String: Any]
        let layers = (manifest?["layers"] as? [[String: Any]] ?? []).compactMap { $0["digest"] as? String }
        #expect(layers.count == 2)
        for digest in layers {
            let stored = try await TestHTTP.shared.get(fixture.url("team/out") + "/blobs/\(digest)")
            #expect(try await TestHTTP.shared.get(fixture.registry.url + "/v2/team/out/blobs/\(digest)").body == stored.body)
        }
    }

    @Test("unreachable upstream: each request answered within 3 s, then within 1 s with 503 naming it; cached tags stale; back by itself")
    func breaker() async throws {
        let fixture = try await Fixture(layoverEnvironment: ["LAYOVER_LOG_LEVEL": "info"])
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [1000])
        let accept = [("Accept", PushTests.ociManifest)]
        #expect(try await TestHTTP.shared.get(fixture.url("team/app") + "/manifests/v1", headers: accept).status == 200)

        fixture.registry.stop()
        let clock = ContinuousClock()
        var answers: [(status: Int, seconds: Duration, text: String)] = []
        for index in 0..<8 {
            let started = clock.now
            let answer = try await TestHTTP.shared.get(fixture.url("team/other\(index)") + "/manifests/latest", headers: accept)
            answers.append((answer.status, clock.now - started, answer.text))
        }
        for answer in answers {
            #expect(answer.status == 503 && answer.text.contains("UNAVAILABLE"), "\(answer.text)")
            #expect(answer.seconds < .seconds(3), "answered after \(answer.seconds)")
        }
        let late = answers.suffix(3)
        #expect(late.allSatisfy { $0.seconds < .seconds(1) && $0.text.contains("upstream up is down since") }, "\(late.map(\.text))")
        let stale = try await TestHTTP.shared.get(fixture.url("team/app") + "/manifests/v1", headers: accept)
        #expect(stale.status == 200 && stale.body == image.manifest)
        let status = try await TestHTTP.shared.get(fixture.layover.url + "/_layover/status")
        #expect(status.text.contains("\"state\" : \"down\""), "\(status.text)")
        let metrics = try await TestHTTP.shared.get(fixture.layover.url + "/metrics")
        #expect(metrics.text.contains("layover_upstream_up{upstream=\"up\"} 0"), "\(metrics.text)")

        try await fixture.registry.start()
        try await eventually(timeout: .seconds(20)) {
            try await TestHTTP.shared.get(fixture.url("team/app") + "/manifests/v1", headers: accept).header("Warning") == nil
        }
        let back = try await TestHTTP.shared.get(fixture.layover.url + "/metrics")
        #expect(back.text.contains("layover_upstream_up{upstream=\"up\"} 1"))
    }
}
