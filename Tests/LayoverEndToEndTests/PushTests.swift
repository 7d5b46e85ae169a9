import Foundation
import LayoverTestSupport
import Testing

/// Write-back pushes: acknowledged once safe on local disk, replicated upstream by the durable queue.
@Suite("Write-back pushes", .endToEnd)
struct PushTests {
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    static let ociIndex = "application/vnd.oci.image.index.v1+json"

    /// An image's bytes, not pushed anywhere yet.
    struct Content {
        var blobs: [[UInt8]]
        var config: [UInt8]
        var manifest: [UInt8]
        var digest: String { TestHTTP.digest(of: manifest) }
    }

    static func image(layerSizes: [Int], configMediaType: String = "application/vnd.oci.image.config.v1+json") -> Content {
        image(layers: layerSizes.map(randomBytes), configMediaType: configMediaType)
    }

    /// An image of `blobs` as its layers, with a config of its own.
    static func image(layers blobs: [[UInt8]], configMediaType: String = "application/vnd.oci.image.config.v1+json") -> Content {
        let config = Array("{\"architecture\":\"amd64\",\"os\":\"linux\",\"nonce\":\"\(UUID())\"}".utf8)
        let layers = blobs.map(layerDescriptor)
        let manifest = Array("""
            {"schemaVersion":2,"mediaType":"\(ociManifest)","config":{"mediaType":"\(configMediaType)","digest":"\(TestHTTP.digest(of: config))","size":\(config.count)},"layers":[\(layers.joined(separator: ","))]}
            """.utf8)
        return Content(blobs: blobs, config: config, manifest: manifest)
    }

    /// Pushes `content` containerd-style and returns the manifest PUT's answer.
    static func push(_ content: Content, to pusher: OCIPusher, tag: String) async throws -> TestHTTP.Answer {
        for blob in content.blobs + [content.config] { try await pusher.pushBlobMonolithic(blob) }
        return try await pusher.putManifest(tag, content.manifest, mediaType: ociManifest)
    }

    /// Whether the upstream holds `content` under `tag`, byte for byte.
    static func upstreamHolds(_ registry: UpstreamRegistry, _ repository: String, tag: String, _ content: Content,
                              mediaType: String = ociManifest) async throws -> Bool {
        let manifest = try await TestHTTP.shared.get("\(registry.url)/v2/\(repository)/manifests/\(tag)", headers: [("Accept", mediaType)])
        guard manifest.status == 200, manifest.body == content.manifest else { return false }
        for blob in content.blobs + [content.config] {
            let answer = try await TestHTTP.shared.get("\(registry.url)/v2/\(repository)/blobs/\(TestHTTP.digest(of: blob))")
            guard answer.body == blob else { return false }
        }
        return true
    }

    @Test("skopeo copies an image into Layover; the upstream then has the same manifest and every blob")
    func skopeoPush() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        _ = try await fixture.seeder.pushImage("team/source", tag: "v1", layerSizes: [300_000, 1_000_000])
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        _ = try await Skopeo.copy("\(fixture.registry.url.dropFirst(7))/team/source:v1", into: scratch.path + "/image")
        try await Skopeo.push(directory: scratch.path + "/image", to: fixture.reference("team/pushed", "v1"))

        let pushed = try await TestHTTP.shared.get("\(fixture.url("team/pushed"))/manifests/v1", headers: [("Accept", Self.ociManifest)])
        #expect(pushed.status == 200, "read-your-writes: \(pushed.text)")
        try await eventually(timeout: .seconds(20)) {
            let upstream = try await TestHTTP.shared.get("\(fixture.registry.url)/v2/team/pushed/manifests/v1", headers: [("Accept", Self.ociManifest)])
            return upstream.status == 200 && upstream.body == pushed.body
        }
        // skopeo may recompress layers on the way: check what Layover received, blob by blob.
        let digests = try Self.referencedDigests(pushed.body)
        #expect(digests.count == 3)
        for digest in digests {
            let local = try await TestHTTP.shared.get("\(fixture.url("team/pushed"))/blobs/\(digest)")
            let upstream = try await TestHTTP.shared.get("\(fixture.registry.url)/v2/team/pushed/blobs/\(digest)")
            #expect(upstream.status == 200)
            #expect(upstream.body == local.body)
            #expect(TestHTTP.digest(of: upstream.body) == digest)
        }
    }

    static func referencedDigests(_ manifest: [UInt8]) throws -> [String] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(manifest)) as? [String: Any])
        let config = (object["config"] as? [String: Any]).flatMap { $0["digest"] as? String }
        let layers = (object["layers"] as? [[String: Any]] ?? []).compactMap { $0["digest"] as? String }
        return (config.map { [$0] } ?? []) + layers
    }

    @Test("BuildKit caches in both forms, pushed POST-then-PUT, reach the upstream byte-identical")
    func buildKitCachePush() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let pusher = OCIPusher(base: fixture.url("team/cache"))
        let cache = Self.image(layerSizes: [200_000, 700_000], configMediaType: "application/vnd.buildkit.cacheconfig.v0")
        let answer = try await Self.push(cache, to: pusher, tag: "buildcache")
        #expect(answer.status == 201)
        #expect(answer.header("docker-content-digest") == cache.digest)

        let index = Self.cacheIndex(cache)
        let indexAnswer = try await pusher.putManifest("indexcache", index, mediaType: Self.ociIndex)
        #expect(indexAnswer.status == 201, "\(indexAnswer.text)")

        try await eventually(timeout: .seconds(20)) {
            try await Self.upstreamHolds(fixture.registry, "team/cache", tag: "buildcache", cache)
        }
        try await eventually(timeout: .seconds(20)) {
            let upstream = try await TestHTTP.shared.get("\(fixture.registry.url)/v2/team/cache/manifests/indexcache", headers: [("Accept", Self.ociIndex)])
            return upstream.body == index
        }
    }

    /// The descriptor of `blob` as a gzip layer.
    static func layerDescriptor(_ blob: [UInt8]) -> String {
        "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"\(TestHTTP.digest(of: blob))\",\"size\":\(blob.count)}"
    }

    /// BuildKit's index form of a cache: an OCI index whose entries are `content`'s layers and
    /// its cache config, blobs rather than manifests.
    static func cacheIndex(_ content: Content) -> [UInt8] {
        let layers = content.blobs.map(layerDescriptor)
        let config = "{\"mediaType\":\"application/vnd.buildkit.cacheconfig.v0\",\"digest\":\"\(TestHTTP.digest(of: content.config))\",\"size\":\(content.config.count)}"
        return Array("{\"schemaVersion\":2,\"mediaType\":\"\(ociIndex)\",\"manifests\":[\((layers + [config]).joined(separator: ","))]}".utf8)
    }

    /// distribution's registry writes a repository's link files in place: a manifest PUT that
    /// reads one while another upload of the same blob rewrites it is refused with `400
    /// MANIFEST_BLOB_UNKNOWN`, though the blob is there (seen in a CI run, two jobs of one
    /// repository sharing blobs). An empty link file left in the upstream's storage stands for
    /// the one caught mid-write; the job must retry once it is whole, not be dead-lettered.
    @Test("a manifest refused for a blob the upstream has just been given (a link caught mid-write) is retried, not dead-lettered")
    func manifestBlobUnknownIsRetried() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let cache = Self.image(layerSizes: [300_000], configMediaType: "application/vnd.buildkit.cacheconfig.v0")
        let link = fixture.registry.manifestLinkPath("team/racy", TestHTTP.digest(of: cache.blobs[0]))
        try FileManager.default.createDirectory(atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: link, contents: Data()))

        let pusher = OCIPusher(base: fixture.url("team/racy"))
        for blob in cache.blobs + [cache.config] { try await pusher.pushBlobMonolithic(blob) }
        let index = Self.cacheIndex(cache)
        #expect(try await pusher.putManifest("cache", index, mediaType: Self.ociIndex).status == 201)
        try await eventually(timeout: .seconds(20)) { fixture.layover.log.contains("MANIFEST_BLOB_UNKNOWN") }

        try FileManager.default.removeItem(atPath: link)
        try await eventually(timeout: .seconds(30)) {
            let upstream = try await TestHTTP.shared.get("\(fixture.registry.url)/v2/team/racy/manifests/cache", headers: [("Accept", Self.ociIndex)])
            return upstream.body == index
        }
    }

    /// BuildKit pushes an image and its cache at once, and they share layers: their jobs must not
    /// both send a layer the upstream lacks (the bytes twice, and the sends race in its storage).
    @Test("two pushes sharing a layer, replicated at once when the upstream is back: the layer goes up once")
    func sharedLayerSentOnce() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        fixture.registry.stop()
        let layer = randomBytes(8 << 20)
        let image = Self.image(layers: [layer])
        let cache = Self.image(layers: [layer], configMediaType: "application/vnd.buildkit.cacheconfig.v0")
        let pusher = OCIPusher(base: fixture.url("team/shared"))
        #expect(try await Self.push(image, to: pusher, tag: "v1").status == 201)
        #expect(try await Self.push(cache, to: pusher, tag: "buildcache").status == 201)

        // Both jobs wait for the upstream while it is down, and reach it together once it is back.
        try await fixture.registry.start()
        try await eventually(timeout: .seconds(30)) {
            try await Self.upstreamHolds(fixture.registry, "team/shared", tag: "v1", image)
        }
        try await eventually(timeout: .seconds(30)) {
            try await Self.upstreamHolds(fixture.registry, "team/shared", tag: "buildcache", cache)
        }
        #expect(fixture.relay.bytesToUpstream < layer.count * 3 / 2, "sent \(fixture.relay.bytesToUpstream) bytes for a layer of \(layer.count)")
    }

    @Test("with the upstream down the push succeeds, and everything arrives once it is back")
    func upstreamDownDuringPush() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        fixture.registry.stop()
        let content = Self.image(layerSizes: [500_000])
        let answer = try await Self.push(content, to: OCIPusher(base: fixture.url("team/app")), tag: "v1")
        #expect(answer.status == 201)
        let local = try await TestHTTP.shared.get("\(fixture.url("team/app"))/manifests/v1", headers: [("Accept", Self.ociManifest)])
        #expect(local.body == content.manifest, "read-your-writes while the upstream is down")

        try await fixture.registry.start()
        try await eventually(timeout: .seconds(30)) {
            try await Self.upstreamHolds(fixture.registry, "team/app", tag: "v1", content)
        }
    }

    @Test("kill -9 with jobs pending: after a restart they complete")
    func crashWithPendingJobs() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        fixture.registry.stop()
        let first = Self.image(layerSizes: [100_000])
        let second = Self.image(layerSizes: [200_000])
        #expect(try await Self.push(first, to: OCIPusher(base: fixture.url("team/one")), tag: "v1").status == 201)
        #expect(try await Self.push(second, to: OCIPusher(base: fixture.url("team/two")), tag: "v1").status == 201)
        fixture.layover.stop(signal: SIGKILL)

        try await fixture.registry.start()
        try await fixture.layover.start()
        try await eventually(timeout: .seconds(30)) {
            try await Self.upstreamHolds(fixture.registry, "team/one", tag: "v1", first)
        }
        try await eventually(timeout: .seconds(30)) {
            try await Self.upstreamHolds(fixture.registry, "team/two", tag: "v1", second)
        }
    }

    @Test("two pushes of one tag: the upstream ends with the newer")
    func newerPushWins() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        fixture.registry.stop()
        let pusher = OCIPusher(base: fixture.url("team/app"))
        let older = Self.image(layerSizes: [1000])
        let newer = Self.image(layerSizes: [2000])
        #expect(try await Self.push(older, to: pusher, tag: "latest").status == 201)
        #expect(try await Self.push(newer, to: pusher, tag: "latest").status == 201)
        try await fixture.registry.start()
        try await eventually(timeout: .seconds(30)) {
            try await Self.upstreamHolds(fixture.registry, "team/app", tag: "latest", newer)
        }
        let tag = try await TestHTTP.shared.get("\(fixture.registry.url)/v2/team/app/manifests/latest", headers: [("Accept", Self.ociManifest)])
        #expect(tag.body == newer.manifest)
    }

    @Test("cross-repository mounts: instant locally, and upstream no blob bytes move again")
    func crossRepositoryMount() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let content = Self.image(layerSizes: [2_000_000])
        #expect(try await Self.push(content, to: OCIPusher(base: fixture.url("team/base")), tag: "v1").status == 201)
        try await eventually(timeout: .seconds(20)) {
            try await Self.upstreamHolds(fixture.registry, "team/base", tag: "v1", content)
        }

        let layer = TestHTTP.digest(of: content.blobs[0])
        let mount = try await TestHTTP.shared.send(.POST, "\(fixture.url("team/derived"))/blobs/uploads/?mount=\(layer)&from=team/base")
        #expect(mount.status == 201)
        #expect(mount.header("docker-content-digest") == layer)
        let config = TestHTTP.digest(of: content.config)
        #expect(try await TestHTTP.shared.send(.POST, "\(fixture.url("team/derived"))/blobs/uploads/?mount=\(config)&from=team/base").status == 201)
        let unknown = try await TestHTTP.shared.send(.POST, "\(fixture.url("team/derived"))/blobs/uploads/?mount=sha256:\(String(repeating: "1", count: 64))&from=team/base")
        #expect(unknown.status == 202, "an unknown blob opens an upload instead")

        let before = fixture.relay.bytesToUpstream
        let answer = try await OCIPusher(base: fixture.url("team/derived")).putManifest("v1", content.manifest, mediaType: Self.ociManifest)
        #expect(answer.status == 201)
        try await eventually(timeout: .seconds(20)) {
            try await Self.upstreamHolds(fixture.registry, "team/derived", tag: "v1", content)
        }
        #expect(fixture.relay.bytesToUpstream - before < 100_000, "the 2 MB layer is mounted upstream, not uploaded again")
    }

    @Test("chunked uploads with and without Content-Range, and a single POST with the digest")
    func uploadStyles() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let pusher = OCIPusher(base: fixture.url("team/app"))
        let ranged = randomBytes(300_000)
        let plain = randomBytes(250_000)
        let single = randomBytes(5000)
        let rangedDigest = try await pusher.pushBlobChunked(ranged, chunkSize: 64 * 1024)
        let plainDigest = try await pusher.pushBlobChunked(plain, chunkSize: 1 << 20, ranges: false)
        let post = try await TestHTTP.shared.send(.POST, "\(fixture.url("team/app"))/blobs/uploads/?digest=\(TestHTTP.digest(of: single))",
                                                  headers: [("Content-Type", "application/octet-stream")], body: single)
        #expect(post.status == 201)
        for (digest, bytes) in [(rangedDigest, ranged), (plainDigest, plain), (TestHTTP.digest(of: single), single)] {
            let head = try await TestHTTP.shared.head("\(fixture.url("team/app"))/blobs/\(digest)")
            #expect(head.status == 200)
            #expect(head.header("content-length") == String(bytes.count))
            #expect(try await TestHTTP.shared.get("\(fixture.url("team/app"))/blobs/\(digest)").body == bytes)
        }
    }

    @Test("bad pushes get OCI errors and leave nothing behind")
    func badPushes() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let base = fixture.url("team/app")
        let pusher = OCIPusher(base: base)

        let location = try await pusher.startUpload()
        let separator = location.contains("?") ? "&" : "?"
        let lie = try await TestHTTP.shared.send(.PUT, "\(location)\(separator)digest=sha256:\(String(repeating: "a", count: 64))",
                                                 body: randomBytes(1000))
        #expect(lie.status == 400)
        #expect(lie.text.contains("DIGEST_INVALID"))
        try await eventually { fixture.ingestFiles().isEmpty }

        let upload = try await pusher.startUpload()
        let first = try await TestHTTP.shared.send(.PATCH, upload, headers: [("Content-Range", "0-99")], body: randomBytes(100))
        #expect(first.status == 202)
        #expect(first.header("range") == "0-99")
        let next = pusher.absolute(try #require(first.header("location")))
        let gap = try await TestHTTP.shared.send(.PATCH, next, headers: [("Content-Range", "200-299")], body: randomBytes(100))
        #expect(gap.status == 416)
        let status = try await TestHTTP.shared.get(next)
        #expect(status.status == 204)
        #expect(status.header("range") == "0-99")
        let cancel = try await TestHTTP.shared.send(.DELETE, next)
        #expect(cancel.status == 204)

        let liar = try await pusher.startUpload()
        let short = try await TestHTTP.shared.send(.PATCH, liar, headers: [("Content-Range", "0-999")], body: randomBytes(500))
        #expect(short.status == 400)
        #expect(short.text.contains("SIZE_INVALID"))
        #expect(try await TestHTTP.shared.get(liar).status == 404, "a lying upload is dropped")

        let unknown = try await TestHTTP.shared.send(.PATCH, "\(base)/blobs/uploads/00000000-0000-0000-0000-000000000000", body: [1])
        #expect(unknown.status == 404)
        #expect(unknown.text.contains("BLOB_UPLOAD_UNKNOWN"))

        let missing = Self.image(layerSizes: [10])
        let orphan = try await pusher.putManifest("v1", missing.manifest, mediaType: Self.ociManifest)
        #expect(orphan.status == 400)
        #expect(orphan.text.contains("MANIFEST_BLOB_UNKNOWN"))
        let invalid = try await pusher.putManifest("v1", Array("{not json".utf8), mediaType: Self.ociManifest)
        #expect(invalid.status == 400)
        #expect(invalid.text.contains("MANIFEST_INVALID"))
        let huge = try await pusher.putManifest("v1", [UInt8](repeating: 0x20, count: 4 * 1024 * 1024 + 1), mediaType: Self.ociManifest)
        #expect(huge.status == 413)
        let delete = try await TestHTTP.shared.send(.DELETE, "\(base)/manifests/v1")
        #expect(delete.status == 405)
        #expect(delete.text.contains("UNSUPPORTED"))
        try await eventually { fixture.ingestFiles().isEmpty }
        #expect(fixture.storedBlobs().isEmpty)
    }

    @Test("tag lists merge tags pushed here with the upstream's, sorted and paged")
    func mergedTagList() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        _ = try await fixture.seeder.pushImage("team/app", tag: "b-upstream", layerSizes: [10])
        fixture.registry.stop()
        #expect(try await Self.push(Self.image(layerSizes: [20]), to: OCIPusher(base: fixture.url("team/app")), tag: "a-local").status == 201)
        try await fixture.registry.start()
        // Replication attempts while the upstream was stopped may have marked it down: its tags
        // are merged again once the breaker's probe finds it back (within 5 s).
        try await eventually(timeout: .seconds(20)) {
            try await !TestHTTP.shared.get("\(fixture.layover.url)/_layover/status").text.contains("\"state\" : \"down\"")
        }
        let all = try await TestHTTP.shared.get("\(fixture.url("team/app"))/tags/list")
        #expect(all.text.contains("\"tags\":[\"a-local\",\"b-upstream\"]"), "\(all.text)")
        let first = try await TestHTTP.shared.get("\(fixture.url("team/app"))/tags/list?n=1")
        #expect(first.text.contains("\"tags\":[\"a-local\"]"))
        #expect(first.header("link")?.contains("last=a-local") == true)
        let next = try await TestHTTP.shared.get("\(fixture.url("team/app"))/tags/list?n=1&last=a-local")
        #expect(next.text.contains("\"tags\":[\"b-upstream\"]"))
    }
}
