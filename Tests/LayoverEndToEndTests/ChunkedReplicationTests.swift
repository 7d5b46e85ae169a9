import Foundation
import LayoverTestSupport
import Testing

/// Large blobs replicate in chunks through an upstream whose tokens expire every few seconds.
@Suite("Chunked replication", .endToEnd)
struct ChunkedReplicationTests {
    @Test("a 200 MiB blob goes up in 16 MiB chunks through tokens that expire every 6 s and one revoked mid-upload")
    func largeBlobThroughExpiringTokens() async throws {
        // The fourth chunk revokes every token issued so far, its own included, and is answered
        // 401 (on a slow machine the token it carries may be fresher than the third chunk's:
        // Layover keeps a 6 s token for 3 s). Chunks take over 0.3 s each, so the upload also
        // outlives the tokens that follow.
        let rig = try await GatewayRig(lifetime: 6, chunk: "16MiB") { state in
            state.revokeAfterPatches = 3
            state.chunkDelay = 0.3
        }
        defer { rig.shutdown() }
        let (registry, gateway, layover) = (rig.registry, rig.gateway, rig.layover)

        var image = PushTests.image(layerSizes: [1000])
        image.blobs.append(randomBytes(200 << 20))
        image = PushTests.Content(blobs: image.blobs, config: image.config, manifest: Self.manifest(config: image.config, layers: image.blobs))
        let pusher = OCIPusher(base: "\(layover.url)/v2/up/team/big")
        #expect(try await PushTests.push(image, to: pusher, tag: "v1").status == 201)

        try await eventually(timeout: .seconds(180)) { try await PushRefusalTests.jobs(layover.url).isEmpty }
        let upstream = "\(registry.url)/v2/team/big"
        let big = TestHTTP.digest(of: image.blobs[1])
        let head = try await TestHTTP.shared.head("\(upstream)/blobs/\(big)")
        #expect(head.status == 200)
        #expect(head.header("content-length") == String(200 << 20))
        // distribution checked the digest when the upload closed; read it back to be sure.
        let read = try await TestHTTP.shared.streamedDigest("\(upstream)/blobs/\(big)")
        #expect(read.digest == big && read.count == 200 << 20)
        #expect(try await TestHTTP.shared.get("\(upstream)/manifests/v1", headers: DeleteTests.accept).body == image.manifest)

        let state = gateway.state.withLock { $0 }
        #expect(state.patches.count >= 13, "chunks: \(state.patches)")
        #expect(state.patches.allSatisfy { !$0.isEmpty }, "every chunk carries Content-Range")
        #expect(state.largestBody <= 16 << 20, "no request carried more than a chunk")
        #expect(state.unauthorized.contains { $0.hasPrefix("PATCH") }, "a chunk met the revoked token: \(state.unauthorized)")
        #expect(state.tokenRequests >= 3, "tokens fetched again after the revocation and as they expired: \(state.tokenRequests)")
    }

    @Test("a chunk refused with 401 even with a fresh token dead-letters the job with the reason")
    func uncuredUnauthorized() async throws {
        let rig = try await GatewayRig(lifetime: 300, chunk: "1MiB") { $0.refuseChunks = true }
        defer { rig.shutdown() }
        let layover = rig.layover
        let image = PushTests.image(layerSizes: [3 << 20])
        #expect(try await PushTests.push(image, to: OCIPusher(base: "\(layover.url)/v2/up/team/app"), tag: "v1").status == 201)

        var job: [String: Any] = [:]
        try await eventually(timeout: .seconds(60)) {
            job = try await PushRefusalTests.jobs(layover.url).first ?? [:]
            return job["state"] as? String == "dead"
        }
        let reason = job["lastError"] as? String ?? ""
        #expect(reason.contains("401") && reason.contains("fetched after an earlier 401"), "\(job)")
        #expect(job["attempts"] as? Int == 1, "not retried: \(job)")
    }

    @Test("an upstream that refuses chunks gets the blob whole, in a new upload")
    func chunksRefused() async throws {
        let registry = try await UpstreamRegistry()
        defer { registry.stop() }
        let gate = try await PushGate(registry: registry.url) { method, _ in method == .PATCH ? PushGate.Refusal(status: 405) : nil }
        defer { gate.close() }
        let storage = try TemporaryDirectory()
        defer { storage.remove() }
        let (directory, arguments) = try PushModeTests.config("upstreams:\n  up:\n    url: \(gate.url)\n    uploadChunkSize: 1MiB\n")
        defer { directory.remove() }
        let layover = try await LayoverProcess(upstreamURL: gate.url, storage: storage.path + "/store", extraArguments: arguments)
        defer { layover.stop(signal: SIGKILL) }
        let image = PushTests.image(layerSizes: [3 << 20])
        #expect(try await PushTests.push(image, to: OCIPusher(base: "\(layover.url)/v2/up/team/app"), tag: "v1").status == 201)
        try await eventually(timeout: .seconds(60)) { try await PushTests.upstreamHolds(registry, "team/app", tag: "v1", image) }
        #expect(gate.refusals.count == 1, "one chunk tried, then the whole blob: \(gate.refusals)")
    }

    @Test("the merged tag list reads every page of the upstream's, following Link")
    func pagedUpstreamTags() async throws {
        let rig = try await GatewayRig(lifetime: 300, chunk: "64MiB") { $0.tagPageSize = 10 }
        defer { rig.shutdown() }
        let (gateway, layover) = (rig.gateway, rig.layover)
        let seeder = Seeder(registry: rig.registry.url)
        let image = try await seeder.pushImage("team/app", tag: "tag-00", layerSizes: [10])
        let names = (0..<35).map { String(format: "tag-%02d", $0) }
        for name in names.dropFirst() {
            _ = try await seeder.pushManifest("team/app", name, image.manifest, mediaType: PushTests.ociManifest)
        }

        #expect(try await DeleteTests.tags("\(layover.url)/v2/up/team/app") == names)
        #expect(gateway.state.withLock { $0.tagPagesServed } == 4)
        // Layover's own paging over the merged list still works.
        let page = try await TestHTTP.shared.get("\(layover.url)/v2/up/team/app/tags/list?n=20&last=tag-09")
        #expect((try JSONSerialization.jsonObject(with: Data(page.body)) as? [String: Any])?["tags"] as? [String] == Array(names[10..<30]))
        #expect(page.header("link")?.contains("last=tag-29") == true)
    }

    /// An OCI image manifest over `config` and `layers`.
    static func manifest(config: [UInt8], layers: [[UInt8]]) -> [UInt8] {
        let entries = layers.map { "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"\(TestHTTP.digest(of: $0))\",\"size\":\($0.count)}" }
        return Array("""
            {"schemaVersion":2,"mediaType":"\(PushTests.ociManifest)","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(TestHTTP.digest(of: config))","size":\(config.count)},"layers":[\(entries.joined(separator: ","))]}
            """.utf8)
    }
}
