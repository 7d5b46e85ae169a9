import Foundation
import LayoverTestSupport
import Testing

/// Deletion written back: applied here at once, replicated by the queue after the repository's
/// pending pushes, refusals dead-lettered with the upstream's reason.
@Suite("Deletion", .endToEnd)
struct DeleteTests {
    static let accept = [("Accept", PushTests.ociManifest)]

    /// A fixture whose upstream `up` allows deletion (and anything else `extra` sets for it).
    static func fixture(_ extra: String = "") async throws -> (Fixture, TemporaryDirectory) {
        let (directory, arguments) = try PushModeTests.config("upstreams:\n  up:\n    url: http://unused\n    allowDelete: true\n" + extra)
        return (try await Fixture(layoverArguments: arguments), directory)
    }

    static func status(_ url: String, _ method: HTTPMethodName = .get) async throws -> Int {
        switch method {
        case .get: try await TestHTTP.shared.get(url, headers: accept).status
        case .head: try await TestHTTP.shared.head(url, headers: accept).status
        }
    }

    enum HTTPMethodName { case get, head }

    static func tags(_ url: String) async throws -> [String] {
        let answer = try await TestHTTP.shared.get("\(url)/tags/list")
        return (try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["tags"] as? [String] ?? []
    }

    /// The job of `operation` in Layover's queue, when there is one.
    static func job(_ layover: String, _ operation: String) async throws -> [String: Any]? {
        try await PushRefusalTests.jobs(layover).first { $0["operation"] as? String == operation }
    }

    @Test("without allowDelete a DELETE is 405 UNSUPPORTED and nothing changes")
    func refusedWhenDisabled() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [100])
        let refused = try await TestHTTP.shared.send(.DELETE, "\(fixture.url("team/app"))/manifests/\(image.manifestDigest)")
        #expect(refused.status == 405)
        #expect(refused.text.contains("UNSUPPORTED"))
        #expect(try await Self.status("\(fixture.url("team/app"))/manifests/v1") == 200)
        #expect(try await PushRefusalTests.jobs(fixture.layover.url).isEmpty)
    }

    @Test("a manifest by digest, a tag and a blob: each gone here at once (GET, HEAD, tag list) and the digest and blob later upstream")
    func threeKinds() async throws {
        let (fixture, directory) = try await Self.fixture()
        defer { fixture.shutdown(); directory.remove() }
        let base = fixture.url("team/app")
        let pusher = OCIPusher(base: base)
        let first = PushTests.image(layerSizes: [20_000])
        let second = PushTests.image(layerSizes: [30_000])
        #expect(try await PushTests.push(first, to: pusher, tag: "first").status == 201)
        #expect(try await PushTests.push(second, to: pusher, tag: "second").status == 201)
        let loose = randomBytes(40_000)
        let looseDigest = try await pusher.pushBlobMonolithic(loose)
        try await eventually(timeout: .seconds(30)) {
            try await PushTests.upstreamHolds(fixture.registry, "team/app", tag: "second", second)
        }
        try await eventually(timeout: .seconds(30)) {
            try await PushTests.upstreamHolds(fixture.registry, "team/app", tag: "first", first)
        }
        // The loose blob reaches the upstream only with a manifest; put it there directly.
        _ = try await fixture.seeder.pushBlob("team/app", loose)

        // A manifest by digest: its tag goes with it here at once.
        #expect(try await TestHTTP.shared.send(.DELETE, "\(base)/manifests/\(first.digest)").status == 202)
        #expect(try await Self.status("\(base)/manifests/\(first.digest)") == 404)
        #expect(try await Self.status("\(base)/manifests/\(first.digest)", .head) == 404)
        #expect(try await Self.status("\(base)/manifests/first") == 404)
        #expect(try await !Self.tags(base).contains("first"))
        // A tag: the manifest stays, by digest.
        #expect(try await TestHTTP.shared.send(.DELETE, "\(base)/manifests/second").status == 202)
        #expect(try await Self.status("\(base)/manifests/second") == 404)
        #expect(try await Self.status("\(base)/manifests/second", .head) == 404)
        #expect(try await Self.tags(base) == [])
        #expect(try await Self.status("\(base)/manifests/\(second.digest)") == 200)
        // A blob.
        #expect(try await TestHTTP.shared.send(.DELETE, "\(base)/blobs/\(looseDigest)").status == 202)
        #expect(try await TestHTTP.shared.get("\(base)/blobs/\(looseDigest)").status == 404)
        #expect(try await TestHTTP.shared.head("\(base)/blobs/\(looseDigest)").status == 404)
        // What neither side holds is unknown.
        let missing = try await TestHTTP.shared.send(.DELETE, "\(base)/manifests/sha256:\(String(repeating: "0", count: 64))")
        #expect(missing.status == 404)
        #expect(missing.text.contains("MANIFEST_UNKNOWN"))

        // Later upstream: the manifest and the blob are deleted there; the second image's manifest is not.
        let upstream = "\(fixture.registry.url)/v2/team/app"
        try await eventually(timeout: .seconds(30)) {
            let manifest = try await Self.status("\(upstream)/manifests/\(first.digest)")
            let blob = try await TestHTTP.shared.head("\(upstream)/blobs/\(looseDigest)").status
            return manifest == 404 && blob == 404
        }
        #expect(try await Self.status("\(upstream)/manifests/\(second.digest)") == 200)
        try await eventually(timeout: .seconds(30)) {
            try await PushRefusalTests.jobs(fixture.layover.url).allSatisfy { $0["operation"] as? String == "deleteTag" }
        }
        // Once done upstream, still gone here (and the tag list agrees with the upstream's).
        #expect(try await Self.status("\(base)/manifests/\(first.digest)") == 404)
        #expect(try await TestHTTP.shared.get("\(base)/blobs/\(looseDigest)").status == 404)
    }

    @Test("distribution refuses a tag deletion: the job is a dead letter with its reason, nothing else is deleted, and the tag is not revived")
    func refusedTagDeletion() async throws {
        let (fixture, directory) = try await Self.fixture()
        defer { fixture.shutdown(); directory.remove() }
        let base = fixture.url("team/app")
        // The upstream has the tag; Layover has served it once.
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [1000])
        _ = try await fixture.seeder.pushManifest("team/app", "v2", Array(try await TestHTTP.shared.get(
            "\(fixture.registry.url)/v2/team/app/manifests/v1", headers: Self.accept).body), mediaType: PushTests.ociManifest)
        #expect(try await Self.status("\(base)/manifests/v1") == 200)

        #expect(try await TestHTTP.shared.send(.DELETE, "\(base)/manifests/v1").status == 202)
        var job: [String: Any] = [:]
        try await eventually(timeout: .seconds(30)) {
            job = try await Self.job(fixture.layover.url, "deleteTag") ?? [:]
            return job["state"] as? String == "dead"
        }
        let reason = job["lastError"] as? String ?? ""
        #expect(reason.contains("400") && reason.contains("DIGEST_INVALID"), "\(job)")
        #expect(job["tag"] as? String == "v1")

        // Nothing else deleted in its place: the manifest and its other tag stay upstream and here.
        let upstream = "\(fixture.registry.url)/v2/team/app"
        #expect(try await Self.status("\(upstream)/manifests/v1") == 200)
        #expect(try await Self.status("\(upstream)/manifests/\(image.manifestDigest)") == 200)
        #expect(try await Self.status("\(base)/manifests/v2") == 200)
        #expect(try await Self.status("\(base)/manifests/\(image.manifestDigest)") == 200)

        // The upstream still has v1; revalidation does not bring it back, across a restart too.
        for _ in 0..<3 { #expect(try await Self.status("\(base)/manifests/v1") == 404) }
        #expect(try await Self.tags(base) == ["v2"])
        fixture.layover.stop()
        try await fixture.layover.start()
        let restarted = fixture.url("team/app")
        #expect(try await Self.status("\(restarted)/manifests/v1") == 404)
        #expect(try await Self.status("\(restarted)/manifests/v1", .head) == 404)

        let cli = try TestProcess(executable: try LayoverProcess.binary(), arguments: ["queue", "--server", fixture.layover.url])
        #expect(try await cli.waitForExit() == 0)
        #expect(cli.output.contains("deleteTag") && cli.output.contains("dead") && cli.output.contains("DIGEST_INVALID"), "\(cli.output)")
    }

    @Test("sync mode: 202 once the upstream deleted it; a refusal is 502 with the upstream's reason")
    func syncMode() async throws {
        let (fixture, directory) = try await Self.fixture("    push: sync\n")
        defer { fixture.shutdown(); directory.remove() }
        let base = fixture.url("team/app")
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [1000])
        #expect(try await TestHTTP.shared.send(.DELETE, "\(base)/manifests/\(image.manifestDigest)").status == 202)
        #expect(try await Self.status("\(fixture.registry.url)/v2/team/app/manifests/\(image.manifestDigest)") == 404, "no waiting: sync")

        let other = try await fixture.seeder.pushImage("team/app", tag: "v2", layerSizes: [1000])
        let refused = try await TestHTTP.shared.send(.DELETE, "\(base)/manifests/v2")
        #expect(refused.status == 502)
        #expect(refused.text.contains("DIGEST_INVALID"), "\(refused.text)")
        #expect(try await Self.status("\(fixture.registry.url)/v2/team/app/manifests/\(other.manifestDigest)") == 200)
    }

    @Test("a deletion waits for the repository's pending push: the upstream ends without the manifest")
    func orderedAfterPushes() async throws {
        let (fixture, directory) = try await Self.fixture()
        defer { fixture.shutdown(); directory.remove() }
        let base = fixture.url("team/app")
        fixture.registry.stop()
        let image = PushTests.image(layerSizes: [10_000])
        #expect(try await PushTests.push(image, to: OCIPusher(base: base), tag: "v1").status == 201)
        // The upstream cannot be asked: the manifest is known here, so the deletion is accepted.
        #expect(try await TestHTTP.shared.send(.DELETE, "\(base)/manifests/\(image.digest)").status == 202)
        #expect(try await Self.status("\(base)/manifests/\(image.digest)") == 404)
        #expect(try await Self.status("\(base)/manifests/v1") == 404)
        let operations = try await PushRefusalTests.jobs(fixture.layover.url).map { $0["operation"] as? String ?? "" }
        #expect(operations == ["push", "deleteManifest"])

        try await fixture.registry.start()
        try await eventually(timeout: .seconds(60)) { try await PushRefusalTests.jobs(fixture.layover.url).isEmpty }
        // The push went first (its blobs are there), then the deletion removed the manifest.
        let upstream = "\(fixture.registry.url)/v2/team/app"
        #expect(try await Self.status("\(upstream)/manifests/\(image.digest)") == 404)
        #expect(try await TestHTTP.shared.head("\(upstream)/blobs/\(TestHTTP.digest(of: image.config))").status == 200)
    }
}
