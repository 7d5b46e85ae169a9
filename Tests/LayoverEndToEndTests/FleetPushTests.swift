import Foundation
import LayoverTestSupport
import Testing

/// Three nodes in one fleet (issue 12), pushing: correct behind a round-robin balancer, each
/// repository on one node behind the shipped HAProxy, and a dead owner's pushes kept until it returns.
@Suite("Fleet pushes", .endToEnd)
struct FleetPushTests {
    @Test("pushes through a round-robin HAProxy (monolithic, chunked, skopeo) land on the repository's owner, read back from every node and replicate once")
    func pushesBehindRoundRobin() async throws {
        let rig = try await FleetRig()
        defer { rig.shutdown() }
        let haproxy = try await HAProxy(backend: ["balance roundrobin", "option httpchk GET /readyz"], ports: rig.ports)
        defer { haproxy.stop() }
        do {
            let pusher = OCIPusher(base: "\(haproxy.url)/v2/up/team/pushed")
            // The session's Location names its owner, whichever node the POST reached.
            let owners = try await Set((0..<3).asyncMap { _ in try await pusher.startUpload() }.map { location in
                String(location.split(separator: "layover-owner=").last ?? "")
            })
            #expect(owners.count == 1 && rig.ports.contains { owners.first?.hasSuffix(":\($0)") == true }, "\(owners)")
            let content = PushTests.image(layerSizes: [1 << 20, 300_000])
            try await pusher.pushBlobMonolithic(content.blobs[0])
            try await pusher.pushBlobChunked(content.blobs[1], chunkSize: 100_000)
            try await pusher.pushBlobMonolithic(content.config)
            let before = rig.relay.bytesToUpstream
            let put = try await pusher.putManifest("v1", content.manifest, mediaType: PushTests.ociManifest)
            #expect(put.status == 201, "\(put.text)")

            // Read-your-writes on every node, before or after replication.
            for node in 0..<3 {
                let manifest = try await TestHTTP.shared.get("\(rig.url(node))/v2/up/team/pushed/manifests/v1", headers: [("Accept", PushTests.ociManifest)])
                #expect(manifest.status == 200 && manifest.body == content.manifest, "node \(node): \(manifest.text)")
                for blob in content.blobs + [content.config] {
                    let answer = try await TestHTTP.shared.get("\(rig.url(node))/v2/up/team/pushed/blobs/\(TestHTTP.digest(of: blob))")
                    #expect(answer.status == 200 && answer.body == blob, "node \(node)")
                }
            }
            try await eventually(timeout: .seconds(30)) {
                try await PushTests.upstreamHolds(rig.registry, "team/pushed", tag: "v1", content)
            }
            let pushedBytes = (content.blobs + [content.config]).map(\.count).reduce(0, +)
            let sent = rig.relay.bytesToUpstream - before
            #expect(sent < pushedBytes + pushedBytes / 2, "replicated once: \(sent) bytes sent upstream for \(pushedBytes)")

            // skopeo (one PATCH per blob, PUT without a body) through the same balancer.
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            _ = try await rig.seeder.pushImage("team/source", tag: "v1", layerSizes: [500_000, 700_000])
            _ = try await Skopeo.copy("\(rig.registry.url.dropFirst(7))/team/source:v1", into: scratch.path + "/image")
            try await Skopeo.push(directory: scratch.path + "/image", to: "\(haproxy.url.dropFirst(7))/up/team/copied:v1")
            let copied = try await TestHTTP.shared.get("\(haproxy.url)/v2/up/team/copied/manifests/v1", headers: [("Accept", PushTests.ociManifest)])
            #expect(copied.status == 200)
            try await eventually(timeout: .seconds(30)) {
                try await TestHTTP.shared.get("\(rig.registry.url)/v2/team/copied/manifests/v1", headers: [("Accept", PushTests.ociManifest)]).body == copied.body
            }
        } catch {
            Issue.record("\(error); haproxy: \(haproxy.output.suffix(2000))\n\(rig.logTails)")
            throw error
        }
    }

    @Test("behind deploy/haproxy/haproxy.cfg (Layover's owner, computed by its Lua script): a push and its pulls reach the owner, no node forwards, all byte-identical")
    func pushesBehindTheShippedHAProxy() async throws {
        let rig = try await FleetRig()
        defer { rig.shutdown() }
        let haproxy = try await HAProxy(deployedFor: rig.ports)
        defer { haproxy.stop() }
        for repository in ["team/one", "team/two", "team/three"] {
            let forwardedBefore = try await rig.forwardedCounts()
            let pusher = OCIPusher(base: "\(haproxy.url)/v2/up/\(repository)")
            let content = PushTests.image(layerSizes: [200_000, 100_000])
            try await pusher.pushBlobMonolithic(content.blobs[0])
            try await pusher.pushBlobChunked(content.blobs[1], chunkSize: 64_000)
            try await pusher.pushBlobMonolithic(content.config)
            #expect(try await pusher.putManifest("v1", content.manifest, mediaType: PushTests.ociManifest).status == 201)
            let pulled = try await TestHTTP.shared.get("\(haproxy.url)/v2/up/\(repository)/manifests/v1", headers: [("Accept", PushTests.ociManifest)])
            #expect(pulled.body == content.manifest)
            for blob in content.blobs + [content.config] {
                #expect(try await TestHTTP.shared.get("\(haproxy.url)/v2/up/\(repository)/blobs/\(TestHTTP.digest(of: blob))").body == blob)
            }
            try await eventually(timeout: .seconds(30)) { try await PushTests.upstreamHolds(rig.registry, repository, tag: "v1", content) }
            // Every request of the repository reached its owner, which applied it: no node
            // forwarded (round-robin makes two of three forward).
            let forwardedAfter = try await rig.forwardedCounts()
            let forwarding = (0..<3).filter { forwardedAfter[$0] > forwardedBefore[$0] }
            #expect(forwarding.isEmpty, "\(repository): nodes \(forwarding) forwarded")
        }
    }

    @Test("behind deploy/haproxy/haproxy.cfg, tag lists of 30 repositories (which a non-owner forwards) each reach their owner: no node forwards")
    func shippedHAProxyPicksLayoversOwner() async throws {
        let rig = try await FleetRig()
        defer { rig.shutdown() }
        let haproxy = try await HAProxy(deployedFor: rig.ports)
        defer { haproxy.stop() }
        let before = try await rig.forwardedCounts()
        for index in 0..<30 {
            let answer = try await TestHTTP.shared.get("\(haproxy.url)/v2/up/team/r\(index)/tags/list")
            #expect(answer.status == 404, "team/r\(index): \(answer.text)")
        }
        let after = try await rig.forwardedCounts()
        #expect(after == before, "forwarded before \(before), after \(after)")
        // And a round-robin balancer, for contrast, makes non-owners forward.
        let roundRobin = try await HAProxy(backend: ["balance roundrobin"], ports: rig.ports)
        defer { roundRobin.stop() }
        for index in 0..<30 { _ = try await TestHTTP.shared.get("\(roundRobin.url)/v2/up/team/r\(index)/tags/list") }
        #expect(try await rig.forwardedCounts().reduce(0, +) > after.reduce(0, +))
    }

    @Test("a client still sending a forwarded PATCH when the session's owner dies: the forwarding node answers it and lives on (its drain and the forward's body reader never read at once)")
    func ownerDiesUnderAForwardedBody() async throws {
        let rig = try await FleetRig()
        defer { rig.shutdown() }
        let location = try await OCIPusher(base: "\(rig.url(0))/v2/up/team/dying").startUpload()
        let owner = try #require(rig.ports.firstIndex { location.hasSuffix("%3A\($0)") || location.hasSuffix(":\($0)") },
                                 "the Location names its owner: \(location)")
        let via = (owner + 1) % 3
        let forwardedBefore = try await rig.forwardedCounts()[via]
        let target = String(location.dropFirst(rig.url(0).count))
        let client = try RawHTTP(port: rig.ports[via])
        let length = 1_000_000
        #expect(client.write("PATCH \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: \(length)\r\n\r\n"))
        #expect(client.write([UInt8](repeating: 7, count: 100_000)))
        // The forward is under way and has taken every byte sent: its reader waits for more.
        try await eventually(timeout: .seconds(10)) { try await rig.forwardedCounts()[via] > forwardedBefore }
        try await Task.sleep(for: .milliseconds(300))
        rig.nodes[owner].stop(signal: SIGKILL)
        try await Task.sleep(for: .milliseconds(500))
        // The rest of the body arrives; the forwarding node answers and stays up.
        let sent = client.write([UInt8](repeating: 7, count: length - 100_000))
        let answer = client.readAll()
        #expect(rig.nodes[via].process?.isRunning == true, "node \(via) died: sent the rest \(sent), answer \(answer.prefix(300))\n\(rig.logTails)")
        #expect(RawHTTP.status(of: answer) >= 500, "\(answer.prefix(300))")
        let health = try await TestHTTP.shared.get("\(rig.url(via))/healthz")
        #expect(health.status == 200)
    }

    @Test("a node killed with pushes pending: pulls and new pushes of its repositories go on through the others, and its pushes replicate once it restarts")
    func killedOwnerReplicatesAfterRestart() async throws {
        let rig = try await FleetRig()
        defer { rig.shutdown() }
        let seeded = try await rig.seeder.pushImage("team/base", tag: "v1", layerSizes: [1 << 20])
        // Find the owner of team/pushed: the node whose forwarded count stays at zero on a push.
        let content = PushTests.image(layerSizes: [400_000])
        let registryPort = rig.registry.port
        rig.registry.stop()
        let pusher = OCIPusher(base: "\(rig.url(0))/v2/up/team/pushed")
        for blob in content.blobs + [content.config] { try await pusher.pushBlobMonolithic(blob) }
        let put = try await pusher.putManifest("v1", content.manifest, mediaType: PushTests.ociManifest)
        #expect(put.status == 201, "\(put.text)")
        let owner = try await (0..<3).asyncFirst { node in
            let queue = try await TestHTTP.shared.get("\(rig.url(node))/_layover/queue").text
            return queue.contains("team/pushed")
        }
        let killed = try #require(owner, "one node holds the pending push")
        rig.nodes[killed].stop(signal: SIGKILL)

        // Pulls of cached content go on through the others (from their stores, peers or the upstream).
        let registry = try await UpstreamRegistry(port: registryPort)
        defer { registry.stop() }
        _ = try await rig.seeder.pushImage("team/base", tag: "v1", layerSizes: [], sharedLayers: seeded.layers)
        for node in 0..<3 where node != killed {
            let (status, _, digest) = try await TestHTTP.shared.streamedDigest("\(rig.url(node))/v2/up/team/base/blobs/\(seeded.layers[0].digest)")
            #expect(status == 200 && digest == seeded.layers[0].digest, "node \(node)")
        }
        #expect(!(try await PushTests.upstreamHolds(registry, "team/pushed", tag: "v1", content)))
        // A new push of the dead owner's repository is applied by the node it reaches.
        let other = (killed + 1) % 3
        let newer = PushTests.image(layerSizes: [200_000])
        let answer = try await PushTests.push(newer, to: OCIPusher(base: "\(rig.url(other))/v2/up/team/pushed"), tag: "v2")
        #expect(answer.status == 201, "\(answer.text)")
        // The node that tried the dead owner shows it.
        let status = try await LayoverProcess.run(["status", "--server", rig.url(other)])
        #expect(status.output.contains("\(rig.url(killed)) (unreachable for "), "\(status.output)")

        try await rig.nodes[killed].start()
        try await eventually(timeout: .seconds(60)) {
            try await PushTests.upstreamHolds(registry, "team/pushed", tag: "v1", content)
        }
        try await eventually(timeout: .seconds(30)) {
            try await PushTests.upstreamHolds(registry, "team/pushed", tag: "v2", newer)
        }
    }
}
