import Foundation
import LayoverTestSupport
import Testing

/// Per-upstream push modes, dead letters, upload expiry, pinning and referrers.
@Suite("Push modes and the queue", .endToEnd)
struct PushModeTests {
    /// A config file that sets options of upstream `up` (its URL comes from `--upstream`).
    static func config(_ yaml: String) throws -> (TemporaryDirectory, [String]) {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/layover.yml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return (directory, ["--config", path])
    }

    static func queue(_ fixture: Fixture) async throws -> [[String: Any]] {
        let answer = try await TestHTTP.shared.get("\(fixture.layover.url)/_layover/queue")
        let object = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
        return object?["jobs"] as? [[String: Any]] ?? []
    }

    @Test("sync mode answers once the upstream accepted the manifest, and fails (queued) while it is down")
    func syncMode() async throws {
        let (directory, arguments) = try Self.config("upstreams:\n  up:\n    url: http://unused\n    push: sync\n")
        defer { directory.remove() }
        let fixture = try await Fixture(layoverArguments: arguments)
        defer { fixture.shutdown() }
        let pusher = OCIPusher(base: fixture.url("team/app"))

        let accepted = PushTests.image(layerSizes: [50_000])
        #expect(try await PushTests.push(accepted, to: pusher, tag: "v1").status == 201)
        #expect(try await PushTests.upstreamHolds(fixture.registry, "team/app", tag: "v1", accepted), "no waiting: sync")

        fixture.registry.stop()
        let refused = PushTests.image(layerSizes: [60_000])
        let answer = try await PushTests.push(refused, to: pusher, tag: "v2")
        #expect(answer.status == 502)
        #expect(answer.text.contains("queued for retry"))
        try await fixture.registry.start()
        try await eventually(timeout: .seconds(30)) {
            try await PushTests.upstreamHolds(fixture.registry, "team/app", tag: "v2", refused)
        }
    }

    @Test("local mode keeps pushes here and never replicates them")
    func localMode() async throws {
        let (directory, arguments) = try Self.config("upstreams:\n  up:\n    url: http://unused\n    push: local\n")
        defer { directory.remove() }
        let fixture = try await Fixture(layoverArguments: arguments)
        defer { fixture.shutdown() }
        let content = PushTests.image(layerSizes: [10_000])
        #expect(try await PushTests.push(content, to: OCIPusher(base: fixture.url("team/private")), tag: "v1").status == 201)
        let local = try await TestHTTP.shared.get("\(fixture.url("team/private"))/manifests/v1", headers: [("Accept", PushTests.ociManifest)])
        #expect(local.body == content.manifest)
        #expect(try await Self.queue(fixture).isEmpty)
        let upstream = try await TestHTTP.shared.get("\(fixture.registry.url)/v2/team/private/manifests/v1", headers: [("Accept", PushTests.ociManifest)])
        #expect(upstream.status == 404)
    }

    @Test("an upstream refusing the credentials dead-letters the job with the reason; the content stays")
    func deadLetter() async throws {
        let registry = try await UpstreamRegistry()
        defer { registry.stop() }
        let gateway = try await AuthGateway(registry: registry.url, credentials: "ci:s3cret")
        defer { gateway.close() }
        let storage = try TemporaryDirectory()
        defer { storage.remove() }
        let layover = try await LayoverProcess(upstreamURL: gateway.url, storage: storage.path + "/store")
        defer { layover.stop(signal: SIGKILL) }
        let content = PushTests.image(layerSizes: [10_000])
        let pusher = OCIPusher(base: "\(layover.url)/v2/up/team/app")
        #expect(try await PushTests.push(content, to: pusher, tag: "v1").status == 201)

        var job: [String: Any] = [:]
        try await eventually(timeout: .seconds(20)) {
            let answer = try await TestHTTP.shared.get("\(layover.url)/_layover/queue")
            let jobs = (try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["jobs"] as? [[String: Any]] ?? []
            job = jobs.first ?? [:]
            return job["state"] as? String == "dead"
        }
        #expect((job["lastError"] as? String)?.contains("refused") == true, "\(job)")
        #expect(job["repository"] as? String == "team/app")
        let local = try await TestHTTP.shared.get("\(layover.url)/v2/up/team/app/manifests/v1", headers: [("Accept", PushTests.ociManifest)])
        #expect(local.body == content.manifest)

        let cli = try TestProcess(executable: try LayoverProcess.binary(), arguments: ["queue", "--server", layover.url])
        #expect(try await cli.waitForExit() == 0)
        #expect(cli.output.contains("dead"))
        #expect(cli.output.contains("up/team/app"))
    }

    @Test("an idle upload expires and its bytes are freed")
    func uploadExpiry() async throws {
        // Long enough that a machine loaded by the whole suite gets from POST to PATCH in time
        // (3 s and 8 s were seen to be too short); the sweep runs every 5 s.
        let (directory, arguments) = try Self.config("uploadTimeoutSeconds: 20\n")
        defer { directory.remove() }
        let fixture = try await Fixture(layoverArguments: arguments)
        defer { fixture.shutdown() }
        let pusher = OCIPusher(base: fixture.url("team/app"))
        let location = try await pusher.startUpload()
        let chunk = try await TestHTTP.shared.send(.PATCH, location, body: randomBytes(100_000))
        try #require(chunk.status == 202, "\(chunk.text)")
        #expect(fixture.ingestFiles().count == 1)
        try await eventually(timeout: .seconds(60)) { fixture.ingestFiles().isEmpty }
        let next = try #require(chunk.header("location"))
        let late = try await TestHTTP.shared.send(.PATCH, pusher.absolute(next), body: [1])
        #expect(late.status == 404)
        #expect(late.text.contains("BLOB_UPLOAD_UNKNOWN"))
    }

    @Test("content not yet replicated is never evicted; an upload it leaves no room for is refused clearly, and works once replicated")
    func pinnedStoreFull() async throws {
        let fixture = try await Fixture(layoverArguments: ["--max-bytes", "1MiB"])
        defer { fixture.shutdown() }
        fixture.registry.stop()
        let pusher = OCIPusher(base: fixture.url("team/app"))
        let first = PushTests.image(layerSizes: [700_000])
        let second = PushTests.image(layerSizes: [500_000])
        #expect(try await PushTests.push(first, to: pusher, tag: "one").status == 201)
        for blob in first.blobs {
            #expect(fixture.storedBlobs().contains(TestHTTP.digest(of: blob)), "a pinned blob must survive eviction")
        }
        // 700 kB pinned + 500 kB arriving > 1 MiB: nothing can be evicted to make room.
        let location = try await pusher.startUpload()
        let refused = try await TestHTTP.shared.send(.PUT, "\(location)\(location.contains("?") ? "&" : "?")digest=\(TestHTTP.digest(of: second.blobs[0]))",
                                                     body: second.blobs[0])
        #expect(refused.status == 507)
        #expect(refused.text.contains("not yet replicated"))
        #expect(fixture.ingestFiles().isEmpty)

        try await fixture.registry.start()
        try await eventually(timeout: .seconds(30)) {
            try await PushTests.upstreamHolds(fixture.registry, "team/app", tag: "one", first)
        }
        #expect(try await PushTests.push(second, to: pusher, tag: "two").status == 201)
        try await eventually(timeout: .seconds(30)) {
            try await PushTests.upstreamHolds(fixture.registry, "team/app", tag: "two", second)
        }
    }

    @Test("the referrers API lists manifests pushed with a subject, filtered by artifactType")
    func referrers() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let pusher = OCIPusher(base: fixture.url("team/app"))
        let image = PushTests.image(layerSizes: [1000])
        #expect(try await PushTests.push(image, to: pusher, tag: "v1").status == 201)
        let empty = Array("{}".utf8)
        let emptyDigest = try await pusher.pushBlobMonolithic(empty)
        let signature = Array("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example.signature","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"\(emptyDigest)","size":2},"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"\(emptyDigest)","size":2}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(image.digest)","size":\(image.manifest.count)},"annotations":{"org.example":"yes"}}
            """.utf8)
        let put = try await pusher.putManifest(TestHTTP.digest(of: signature), signature, mediaType: PushTests.ociManifest)
        #expect(put.status == 201, "\(put.text)")

        let all = try await TestHTTP.shared.get("\(fixture.url("team/app"))/referrers/\(image.digest)")
        #expect(all.status == 200)
        #expect(all.header("content-type") == "application/vnd.oci.image.index.v1+json")
        #expect(all.text.contains(TestHTTP.digest(of: signature)))
        #expect(all.text.contains("application/vnd.example.signature"))
        let filtered = try await TestHTTP.shared.get("\(fixture.url("team/app"))/referrers/\(image.digest)?artifactType=application/vnd.other")
        #expect(!filtered.text.contains(TestHTTP.digest(of: signature)))
        #expect(filtered.header("oci-filters-applied") == "artifactType")
    }
}
