import Foundation
import LayoverTestSupport
import NIOHTTP1
import Testing

/// Acknowledged pushes that were lost, hung or went wrong upstream.
@Suite("Replication defects", .endToEnd)
struct ReplicationDefectTests {
    static func index(children: [(digest: String, size: Int)]) -> [UInt8] {
        let entries = children.map { "{\"mediaType\":\"\(PushTests.ociManifest)\",\"digest\":\"\($0.digest)\",\"size\":\($0.size)}" }
        return Array("{\"schemaVersion\":2,\"mediaType\":\"\(PushTests.ociIndex)\",\"manifests\":[\(entries.joined(separator: ","))]}".utf8)
    }

    @Test("an index whose child manifest exists only upstream is replicated, its child checked as a manifest")
    func indexOfUpstreamChild() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let child = try await fixture.seeder.pushImage("ci/x", tag: "child", layerSizes: [1000])
        let index = Self.index(children: [(child.manifestDigest, child.manifest.count)])
        let put = try await OCIPusher(base: fixture.url("ci/x")).putManifest("idx", index, mediaType: PushTests.ociIndex)
        #expect(put.status == 201, "\(put.text)")
        try await eventually(timeout: .seconds(20)) {
            let upstream = try await TestHTTP.shared.get("\(fixture.registry.url)/v2/ci/x/manifests/idx", headers: [("Accept", PushTests.ociIndex)])
            return upstream.status == 200 && upstream.body == index
        }
        // The job is done once the upstream's answer to the PUT is recorded, just after the
        // upstream shows the manifest.
        try await eventually { (try? await PushModeTests.queue(fixture).isEmpty) ?? false }
    }

    @Test("sync mode: every superseded push gets an answer (409), never a 201 for a manifest that did not go up")
    func syncSupersede() async throws {
        let setup = try await SlowUpstream(megabits: 16, upstreamOptions: "push: sync")
        defer { setup.shutdown() }
        let (registry, layover) = (setup.registry, setup.layover)
        let pusher = OCIPusher(base: "\(layover.url)/v2/up/team/app")
        let a = PushTests.image(layerSizes: [4_000_000]), b = PushTests.image(layerSizes: [1000]), c = PushTests.image(layerSizes: [2000])
        for content in [a, b, c] { for blob in content.blobs + [content.config] { try await pusher.pushBlobMonolithic(blob) } }

        async let answerA = pusher.putManifest("t", a.manifest, mediaType: PushTests.ociManifest)
        try await Task.sleep(for: .milliseconds(500))
        async let answerB = pusher.putManifest("t", b.manifest, mediaType: PushTests.ociManifest)
        try await Task.sleep(for: .milliseconds(300))
        let answerC = try await pusher.putManifest("t", c.manifest, mediaType: PushTests.ociManifest)
        let (first, second) = try await (answerA, answerB)
        #expect(second.status == 409, "B was superseded while it waited: \(second.text)")
        #expect(second.text.contains("newer push"))
        #expect(first.status == 409, "A was superseded while it ran and skipped its PUT: \(first.text)")
        #expect(answerC.status == 201, "\(answerC.text)")
        #expect(try await PushTests.upstreamHolds(registry, "team/app", tag: "t", c))
    }

    @Test("the manifest PUT never evicts its own blobs, whose holds survive a restart")
    func manifestKeepsItsBlobs() async throws {
        let fixture = try await Fixture(layoverArguments: ["--max-bytes", "3000000"])
        defer { fixture.shutdown() }
        fixture.registry.stop()
        let pusher = OCIPusher(base: fixture.url("ci/e"))
        let d = randomBytes(1_000_000), e = randomBytes(1_999_900)
        let config = Array("{\"os\":\"linux\"}".utf8)
        try await pusher.pushBlobMonolithic(d)
        try await pusher.pushBlobMonolithic(config)
        fixture.layover.stop(signal: SIGKILL)
        try await fixture.layover.start()
        let pusherAfter = OCIPusher(base: fixture.url("ci/e"))
        try await pusherAfter.pushBlobMonolithic(e)
        let layers = [d, e].map { "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"\(TestHTTP.digest(of: $0))\",\"size\":\($0.count)}" }
        let manifest = Array("""
            {"schemaVersion":2,"mediaType":"\(PushTests.ociManifest)","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(TestHTTP.digest(of: config))","size":\(config.count)},"layers":[\(layers.joined(separator: ","))]}
            """.utf8)
        let put = try await pusherAfter.putManifest("v1", manifest, mediaType: PushTests.ociManifest)
        #expect(put.status == 201, "\(put.text)")
        for blob in [d, e] {
            let answer = try await TestHTTP.shared.get("\(fixture.url("ci/e"))/blobs/\(TestHTTP.digest(of: blob))")
            #expect(answer.status == 200, "an acknowledged push's blob must stay")
        }
    }

    @Test("a 429 with Retry-After on a blob upload is retried, not dead-lettered; a dead job can be put back with `layover queue retry`")
    func rateLimitAndRetry() async throws {
        let registry = try await UpstreamRegistry()
        defer { registry.stop() }
        let limited = Shared(1)
        let refusing = Shared(true)
        let gate = try await PushGate(registry: registry.url) { method, uri in
            if method == .PUT, uri.contains("/v2/team/limited/blobs/uploads/"), limited.withLock({ count in
                defer { count -= 1 }
                return count > 0
            }) {
                return PushGate.Refusal(status: 429, headers: [("Retry-After", "1")])
            }
            if method == .PUT, uri.contains("/v2/team/denied/manifests/"), refusing.withLock({ $0 }) {
                return PushGate.Refusal(status: 403)
            }
            return nil
        }
        defer { gate.close() }
        let storage = try TemporaryDirectory()
        defer { storage.remove() }
        let layover = try await LayoverProcess(upstreamURL: gate.url, storage: storage.path + "/store")
        defer { layover.stop(signal: SIGKILL) }

        let first = PushTests.image(layerSizes: [5000])
        #expect(try await PushTests.push(first, to: OCIPusher(base: "\(layover.url)/v2/up/team/limited"), tag: "v1").status == 201)
        try await eventually(timeout: .seconds(30)) { try await PushTests.upstreamHolds(registry, "team/limited", tag: "v1", first) }

        let second = PushTests.image(layerSizes: [5000])
        #expect(try await PushTests.push(second, to: OCIPusher(base: "\(layover.url)/v2/up/team/denied"), tag: "v1").status == 201)
        try await eventually(timeout: .seconds(20)) {
            try await PushRefusalTests.jobs(layover.url).first?["state"] as? String == "dead"
        }
        refusing.withLock { $0 = false }
        let cli = try TestProcess(executable: try LayoverProcess.binary(), arguments: ["queue", "retry", "--all", "--server", layover.url])
        #expect(try await cli.waitForExit() == 0, "\(cli.output)")
        #expect(cli.output.contains("put back in the queue"))
        try await eventually(timeout: .seconds(30)) { try await PushTests.upstreamHolds(registry, "team/denied", tag: "v1", second) }
        #expect(try await PushRefusalTests.jobs(layover.url).isEmpty)
    }

    @Test("holds belong to (repository, digest): a mount and a second pusher keep their blobs until their own manifest")
    func holdsPerRepository() async throws {
        let fixture = try await Fixture(layoverArguments: ["--max-bytes", "2MiB"])
        defer { fixture.shutdown() }
        let shared = randomBytes(600_000)
        let sharedDigest = TestHTTP.digest(of: shared)
        // X uploads the blob to x1 and has not pushed its manifest yet; Y pushes an image with it to y1.
        try await OCIPusher(base: fixture.url("team/x1")).pushBlobMonolithic(shared)
        let y = PushTests.Content(blobs: [shared], config: Array("{\"y\":1}".utf8), manifest: [])
        let yManifest = Self.manifest(config: y.config, layers: [shared])
        let yPusher = OCIPusher(base: fixture.url("team/y1"))
        try await yPusher.pushBlobMonolithic(shared)
        try await yPusher.pushBlobMonolithic(y.config)
        #expect(try await yPusher.putManifest("v1", yManifest, mediaType: PushTests.ociManifest).status == 201)
        // Mount into r2; its manifest comes later.
        let mount = try await TestHTTP.shared.send(.POST, "\(fixture.url("team/r2"))/blobs/uploads/?mount=\(sharedDigest)&from=team/y1")
        #expect(mount.status == 201)
        try await eventually(timeout: .seconds(20)) { try await PushModeTests.queue(fixture).isEmpty }
        // Pressure: pull blobs through the cache until it must evict.
        for index in 0..<6 {
            let digest = try await fixture.seeder.pushBlob("team/filler", randomBytes(500_000 + index))
            #expect(try await TestHTTP.shared.get("\(fixture.url("team/filler"))/blobs/\(digest)").status == 200)
        }
        #expect(fixture.storedBlobs().contains(sharedDigest), "held for x1 and r2")
        for repository in ["team/x1", "team/r2"] {
            let pusher = OCIPusher(base: fixture.url(repository))
            let config = Array("{\"r\":\"\(repository)\"}".utf8)
            try await pusher.pushBlobMonolithic(config)
            let put = try await pusher.putManifest("v1", Self.manifest(config: config, layers: [shared]), mediaType: PushTests.ociManifest)
            #expect(put.status == 201, "\(repository): \(put.text)")
        }
    }

    @Test("push: local: a tagged manifest's layers are never evicted while the tag points to it")
    func localTagsPinTheirBlobs() async throws {
        let (directory, arguments) = try PushModeTests.config("upstreams:\n  up:\n    url: http://unused\n    push: local\n")
        defer { directory.remove() }
        let fixture = try await Fixture(layoverArguments: arguments + ["--max-bytes", "2MiB"])
        defer { fixture.shutdown() }
        let content = PushTests.image(layerSizes: [700_000])
        #expect(try await PushTests.push(content, to: OCIPusher(base: fixture.url("team/private")), tag: "v1").status == 201)
        for index in 0..<6 {
            let digest = try await fixture.seeder.pushBlob("team/filler", randomBytes(500_000 + index))
            #expect(try await TestHTTP.shared.get("\(fixture.url("team/filler"))/blobs/\(digest)").status == 200)
        }
        let layer = try await TestHTTP.shared.get("\(fixture.url("team/private"))/blobs/\(TestHTTP.digest(of: content.blobs[0]))")
        #expect(layer.status == 200, "a local push's layer must outlive eviction")
    }

    @Test("a stalled upstream fails the upload after the stall timeout; the queue shows the attempt running with its bytes")
    func stalledUpload() async throws {
        // 40 Mbit/s: the upload runs for about 5 s before the link stalls at 24 MiB of its 64 MiB;
        // the link stalls at that point however loaded the machine is (a pause sent by the test
        // after seeing the job run could come after the last byte was out, and no stall follows).
        let setup = try await SlowUpstream(megabits: 40, upstreamOptions: "stallTimeoutSeconds: 2")
        defer { setup.shutdown() }
        let (registry, link, layover) = (setup.registry, setup.link, setup.layover)
        let queue = { try await PushRefusalTests.jobs(layover.url).first }
        let content = PushTests.image(layerSizes: [64 << 20])
        let pusher = OCIPusher(base: "\(layover.url)/v2/up/team/big")
        for blob in content.blobs + [content.config] { try await pusher.pushBlobMonolithic(blob) }
        link.pause(afterBytesToUpstream: 24 << 20)
        #expect(try await pusher.putManifest("v1", content.manifest, mediaType: PushTests.ociManifest).status == 201)
        try await eventually(timeout: .seconds(20)) {
            let job = try await queue()
            return job?["state"] as? String == "running" && (job?["bytesSent"] as? Int ?? 0) > 0
        }
        do {
            try await eventually(timeout: .seconds(60)) {
                (try await queue()?["lastError"] as? String)?.contains("stalled") == true
            }
        } catch {
            Issue.record("no stall seen: \(String(describing: try? await queue())), \(link.bytesToUpstream) bytes relayed; \(layover.log.suffix(3000))")
            throw error
        }
        let job = try #require(try await queue())
        #expect(job["state"] as? String != "dead", "a stall is transient: \(job)")
        link.resume()
        do {
            try await eventually(timeout: .seconds(180)) { try await PushTests.upstreamHolds(registry, "team/big", tag: "v1", content) }
        } catch {
            Issue.record("not replicated after the upstream came back: \(String(describing: try? await queue())) \(layover.log.suffix(3000))")
        }
    }

    @Test("the same bytes pushed to a tag twice: while the newer job is pending, every pull of the tag gets the pushed image, never the upstream's older one")
    func samePushTwiceNeverServesTheOldImage() async throws {
        let registry = try await UpstreamRegistry()
        defer { registry.stop() }
        // Layover → gate → 8 Mbit/s link → registry. The gate refuses the manifest PUTs of ci/x
        // (503, retried) until the test has pulled enough; it holds each body and sends it on over
        // the link, so the first job's 3 MB layer keeps that job running for about 3 s.
        let link = try await Relay(upstreamPort: registry.port, shape: .megabits(8))
        defer { link.close() }
        let refusing = Shared(true)
        let gate = try await PushGate(registry: link.url) { method, uri in
            method == .PUT && uri.hasPrefix("/v2/ci/x/manifests/") && refusing.withLock({ $0 }) ? PushGate.Refusal(status: 503) : nil
        }
        defer { gate.close() }
        let storage = try TemporaryDirectory()
        defer { storage.remove() }
        let layover = try await LayoverProcess(upstreamURL: gate.url, storage: storage.path + "/store")
        defer { layover.stop(signal: SIGKILL) }
        let old = try await Seeder(registry: registry.url).pushImage("ci/x", tag: "t", layerSizes: [1000])
        let new = PushTests.image(layerSizes: [3_000_000])
        let pusher = OCIPusher(base: "\(layover.url)/v2/up/ci/x")
        let pull = { try await TestHTTP.shared.get("\(layover.url)/v2/up/ci/x/manifests/t", headers: [("Accept", PushTests.ociManifest)]) }

        #expect(try await PushTests.push(new, to: pusher, tag: "t").status == 201)
        // The first job is running: its layer is on its way over the link.
        try await eventually(timeout: .seconds(20)) { link.bytesToUpstream > 300_000 }
        let first = try #require(try await PushRefusalTests.jobs(layover.url).first?["id"] as? Int)
        #expect(try await pusher.putManifest("t", new.manifest, mediaType: PushTests.ociManifest).status == 201)
        #expect(gate.refusals.isEmpty, "the first job was still uploading when the same manifest was pushed again")
        // A manifest PUT reaches the gate only once the first job has ended (one job per tag at a
        // time) and the second has run: from here the second job is pending, retrying.
        try await eventually(timeout: .seconds(30)) { !gate.refusals.isEmpty }
        let pending = try await PushRefusalTests.jobs(layover.url).compactMap { $0["id"] as? Int }
        #expect(pending.count == 1 && pending != [first], "only the second job remains: \(pending)")
        for attempt in 0..<20 {
            let answer = try await pull()
            let served = answer.body == new.manifest ? "pushed" : answer.body == old.manifest ? "upstream's old" : "\(answer.status) \(answer.text)"
            #expect(served == "pushed", "pull \(attempt), while the push was pending, got the \(served) image")
            if served != "pushed" { break }
            try await Task.sleep(for: .milliseconds(50))
        }

        refusing.withLock { $0 = false }
        try await eventually(timeout: .seconds(30)) { try await PushTests.upstreamHolds(registry, "ci/x", tag: "t", new) }
        try await eventually(timeout: .seconds(10)) { try await PushRefusalTests.jobs(layover.url).isEmpty }
        #expect(try await pull().body == new.manifest)
    }

    static func manifest(config: [UInt8], layers: [[UInt8]]) -> [UInt8] {
        let entries = layers.map { "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"\(TestHTTP.digest(of: $0))\",\"size\":\($0.count)}" }
        return Array("""
            {"schemaVersion":2,"mediaType":"\(PushTests.ociManifest)","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(TestHTTP.digest(of: config))","size":\(config.count)},"layers":[\(entries.joined(separator: ","))]}
            """.utf8)
    }
}

/// distribution's registry behind a shaped link, and a Layover whose upstream `up` is that link,
/// with `upstreamOptions` (one YAML line) set for it.
struct SlowUpstream {
    let registry: UpstreamRegistry
    let link: Relay
    let layover: LayoverProcess
    private let scratch: [TemporaryDirectory]

    init(megabits: Int, upstreamOptions: String) async throws {
        registry = try await UpstreamRegistry()
        link = try await Relay(upstreamPort: registry.port, shape: .megabits(megabits))
        let (directory, arguments) = try PushModeTests.config("upstreams:\n  up:\n    url: http://unused\n    \(upstreamOptions)\n")
        let storage = try TemporaryDirectory()
        scratch = [directory, storage]
        layover = try await LayoverProcess(upstreamURL: link.url, storage: storage.path + "/store", extraArguments: arguments)
    }

    func shutdown() {
        layover.stop(signal: SIGKILL)
        link.close()
        registry.stop()
        for directory in scratch { directory.remove() }
    }
}
