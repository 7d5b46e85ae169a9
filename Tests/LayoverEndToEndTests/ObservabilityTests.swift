import Foundation
import LayoverTestSupport
import Testing

/// `/metrics`, `/healthz`, `/readyz`, the access log and `layover status`, against a live server.
@Suite("Observability", .endToEnd)
struct ObservabilityTests {
    private func scrape(_ fixture: Fixture) async throws -> PrometheusText {
        let answer = try await TestHTTP.shared.get("\(fixture.layover.url)/metrics")
        #expect(answer.status == 200)
        return PrometheusText(String(decoding: answer.body, as: UTF8.self))
    }

    /// Pulls the image as a client would: the manifest by tag, then every blob.
    private func pull(_ fixture: Fixture, _ image: Seeder.Image) async throws {
        let manifest = try await TestHTTP.shared.get("\(fixture.url("team/app"))/manifests/v1",
                                                     headers: [("Accept", "application/vnd.oci.image.manifest.v1+json")])
        #expect(manifest.status == 200)
        for digest in [image.configDigest] + image.layers.map(\.digest) {
            let blob = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(digest)")
            #expect(blob.digest == digest)
        }
    }

    @Test("metrics move as the traffic says: a miss, then a hit, bytes counted both ways")
    func metricsFollowTraffic() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [1 << 20, 300_000])
        let blobCount = Double(1 + image.layers.count)
        let blobBytes = Double(image.layers.reduce(0) { $0 + $1.bytes.count }) + Double(image.config.count)

        try await pull(fixture, image)
        let first = try await scrape(fixture)
        #expect(first.value("layover_cache_requests_total", ["kind": "blob", "result": "miss"]) == blobCount)
        #expect(first.value("layover_cache_requests_total", ["kind": "blob", "result": "hit"]) == 0)
        #expect(first.value("layover_cache_requests_total", ["kind": "manifest", "result": "miss"]) == 1)
        #expect(first.value("layover_upstream_fetched_bytes_total", ["upstream": "up"]) == blobBytes + Double(image.manifest.count))
        #expect(first.value("layover_served_bytes_total", ["source": "upstream"]) == blobBytes)
        let manifestBytes = Double(image.manifest.count)
        #expect(first.value("layover_tag_revalidations_total", ["result": "checked"]) == 1)
        #expect(first.value("layover_upstream_requests_total", ["upstream": "up", "method": "GET", "status": "200"]) >= blobCount + 1)
        let upstreamBytesAfterFirst = fixture.relay.bytesFromUpstream

        try await pull(fixture, image)
        // The manifest went out from its stored file both times; the blobs the second time.
        let storeServed = blobBytes + 2 * manifestBytes
        var second = try await scrape(fixture)
        try await eventually {
            second = (try? await scrape(fixture)) ?? second
            return second.value("layover_served_bytes_total", ["source": "store"]) >= storeServed
        }
        #expect(second.value("layover_cache_requests_total", ["kind": "blob", "result": "hit"]) == blobCount)
        #expect(second.value("layover_cache_requests_total", ["kind": "blob", "result": "miss"]) == blobCount)
        #expect(second.value("layover_cache_requests_total", ["kind": "manifest", "result": "hit"]) == 1)
        #expect(second.value("layover_upstream_fetched_bytes_total", ["upstream": "up"]) == blobBytes + Double(image.manifest.count))
        #expect(second.value("layover_served_bytes_total", ["source": "store"]) == storeServed)
        #expect(second.value("layover_store_files") == blobCount + 1)
        #expect(second.value("layover_store_bytes") == blobBytes + Double(image.manifest.count))
        #expect(second.value("layover_http_requests_total", ["endpoint": "blob", "status": "200"]) == 2 * blobCount)
        #expect(fixture.relay.bytesFromUpstream - upstreamBytesAfterFirst < 4096, "only the tag's HEAD went upstream")
        // Every metric the shipped Grafana dashboard queries is one the server exposes.
        for family in try dashboardMetricNames() {
            #expect(second.names.contains(family), "deploy/grafana/layover-dashboard.json queries \(family), which /metrics lacks")
        }
    }

    @Test("health and readiness answer; every answer carries a request id, logged on its access line")
    func healthReadinessAndAccessLog() async throws {
        let fixture = try await Fixture(layoverEnvironment: ["LAYOVER_LOG_LEVEL": "info", "LAYOVER_LOG_FORMAT": "json"])
        defer { fixture.shutdown() }
        let health = try await TestHTTP.shared.get("\(fixture.layover.url)/healthz")
        #expect(health.status == 200)
        let ready = try await TestHTTP.shared.get("\(fixture.layover.url)/readyz")
        #expect(ready.status == 200)
        #expect(ready.header("x-request-id")?.isEmpty == false)

        let missing = try await TestHTTP.shared.get("\(fixture.url("team/none"))/manifests/v9",
                                                    headers: [("X-Request-Id", "ci-run-42.step-7")])
        #expect(missing.status == 404)
        #expect(missing.header("x-request-id") == "ci-run-42.step-7", "a sane client id is kept")
        let forged = try await TestHTTP.shared.get("\(fixture.layover.url)/v2/", headers: [("X-Request-Id", "bad id\twith tab")])
        #expect(forged.header("x-request-id") != "bad id\twith tab")

        try await eventually { fixture.layover.log.contains("ci-run-42.step-7") }
        let line = try #require(fixture.layover.log.split(separator: "\n").first { $0.contains("\"msg\":\"access\"") && $0.contains("ci-run-42.step-7") })
        let fields = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(fields["status"] == "404")
        #expect(fields["method"] == "GET")
        #expect(fields["path"] == "/v2/up/team/none/manifests/v9")
        #expect(fields["repository"] == "up/team/none")
        #expect(fields["reference"] == "v9")
        #expect(fields["request_id"] == "ci-run-42.step-7")
        #expect(fields["logger"] == "layover.access")
    }

    @Test("layover status prints the live server's store, hit ratio and upstreams")
    func statusFromLiveServer() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [200_000])
        try await pull(fixture, image)
        try await pull(fixture, image)

        let table = try await LayoverProcess.run(["status", "--server", fixture.layover.url])
        #expect(table.status == 0, "\(table.output)")
        #expect(table.output.contains("hit ratio 50.0%"), "\(table.output)")
        #expect(table.output.contains("3 blobs"), "\(table.output)")
        let upstreamRow = try #require(table.output.split(separator: "\n").first { $0.hasPrefix("up ") })
        #expect(upstreamRow.contains(" ok "), "\(upstreamRow)")

        let json = try await LayoverProcess.run(["status", "--server", fixture.layover.url, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        let store = try #require(object["store"] as? [String: Any])
        #expect(store["files"] as? Int == 3)

        let unreachable = try await LayoverProcess.run(["status", "--server", "http://127.0.0.1:\(try freePort())"])
        #expect(unreachable.status != 0)
        #expect(unreachable.output.contains("cannot reach Layover"))
    }
}

/// The `layover_…` names the Grafana dashboard under deploy/ queries.
func dashboardMetricNames() throws -> Set<String> {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/grafana/layover-dashboard.json").path
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let pattern = try NSRegularExpression(pattern: "layover_[a-z_]+")
    let names = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { Range($0.range, in: text).map { String(text[$0]) } }
    return Set(names)
}
