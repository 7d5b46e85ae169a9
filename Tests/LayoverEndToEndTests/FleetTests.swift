import Foundation
import LayoverFleet
import LayoverTestSupport
import Testing

/// Three nodes in one fleet (issue 12): one upstream fetch per blob for the whole fleet, pushes
/// correct behind a round-robin balancer, and a peer side closed to clients.
@Suite("Fleet", .endToEnd)
struct FleetTests {
    static let ociManifest = "application/vnd.oci.image.manifest.v1+json"

    @Test("16 concurrent pulls of two repositories sharing layers, through all three nodes: each unique byte crosses the upstream link about once")
    func pullsMoveEachByteOnce() async throws {
        let rig = try await FleetRig()
        defer { rig.shutdown() }
        let first = try await rig.seeder.pushImage("team/a", tag: "v1", layerSizes: [3 << 20, 2 << 20, 1 << 20])
        let second = try await rig.seeder.pushImage("team/b", tag: "v1", layerSizes: [2 << 20], sharedLayers: Array(first.layers.prefix(2)))
        var unique: [String: Int] = [:]
        for image in [first, second] {
            for layer in image.layers { unique[layer.digest] = layer.bytes.count }
            unique[image.configDigest] = image.config.count
        }
        let before = rig.relay.bytesFromUpstream

        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<16 {
                let image = client % 2 == 0 ? first : second
                let (expected, blobs) = (image.manifest, image.layers.map(\.digest) + [image.configDigest])
                let base = "\(rig.url(client % 3))/v2/up/\(client % 2 == 0 ? "team/a" : "team/b")"
                group.addTask {
                    let manifest = try await TestHTTP.shared.get("\(base)/manifests/v1", headers: [("Accept", Self.ociManifest)])
                    #expect(manifest.body == expected)
                    for blob in blobs {
                        let (status, _, digest) = try await TestHTTP.shared.streamedDigest("\(base)/blobs/\(blob)")
                        #expect(status == 200 && digest == blob)
                    }
                }
            }
            try await group.waitForAll()
        }
        let moved = rig.relay.bytesFromUpstream - before
        let uniqueBytes = unique.values.reduce(0, +)
        #expect(moved >= uniqueBytes)
        #expect(moved < uniqueBytes + uniqueBytes / 10 + 256 << 10,
                "the fleet moved \(moved) upstream bytes for \(uniqueBytes) unique bytes")
        // Every node that served a blob keeps its own copy.
        for node in 0..<3 {
            #expect(rig.storedBlobs(node).isSuperset(of: Set(first.layers.map(\.digest))), "node \(node)")
        }
        let metrics = try await TestHTTP.shared.get("\(rig.url(0))/metrics").text
        #expect(metrics.contains("layover_fleet_members 3"))
        var used = 0, served = 0
        for node in 0..<3 {
            let status = try await LayoverProcess.run(["status", "--server", rig.url(node)])
            #expect(status.status == 0)
            #expect(status.output.contains("fleet     3 members, this node \(rig.url(node))"), "\(status.output)")
            let json = try await TestHTTP.shared.get("\(rig.url(node))/_layover/status").text
            used += Self.number("peerFillsUsed", in: json)
            served += Self.number("peerFillsServed", in: json)
        }
        #expect(used > 0 && used == served, "fills used \(used), served \(served)")
    }

    /// The integer after `"key" : ` in pretty-printed JSON.
    static func number(_ key: String, in json: String) -> Int {
        guard let range = json.range(of: "\"\(key)\" : ") else { return 0 }
        return Int(json[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    @Test("a peer request without the fleet secret (or with a wrong one) is refused; with it, it is served")
    func peerSideNeedsTheSecret() async throws {
        let rig = try await FleetRig()
        defer { rig.shutdown() }
        let digest = try await rig.seeder.pushBlob("team/a", randomBytes(100_000))
        let url = "\(rig.url(0))/v2/up/team/a/blobs/\(digest)"
        let noSecret = try await TestHTTP.shared.get(url, headers: [("Layover-Fleet-Hop", "1")])
        #expect(noSecret.status == 401)
        #expect(noSecret.text.contains("UNAUTHORIZED"))
        let wrong = try await TestHTTP.shared.get(url, headers: [("Layover-Fleet-Hop", "1"), ("Layover-Fleet-Secret", "guess")])
        #expect(wrong.status == 401)
        let right = try await TestHTTP.shared.get(url, headers: [("Layover-Fleet-Hop", "1"), ("Layover-Fleet-Secret", FleetRig.secret)])
        #expect(right.status == 200)
        #expect(TestHTTP.digest(of: right.body) == digest)
        let metrics = try await TestHTTP.shared.get("\(rig.url(0))/metrics").text
        #expect(metrics.contains("layover_peer_refused_total 2"))

        // A single node, outside any fleet, refuses every peer request.
        let single = try await Fixture()
        defer { single.shutdown() }
        let alone = try await TestHTTP.shared.get("\(single.url("team/a"))/blobs/\(digest)",
                                                  headers: [("Layover-Fleet-Hop", "1"), ("Layover-Fleet-Secret", FleetRig.secret)])
        #expect(alone.status == 401)
    }

    @Test("pushes through a round-robin HAProxy (monolithic, chunked, skopeo) land on the repository's owner, read back from every node and replicate once")
    func pushesBehindRoundRobin() async throws {
        let rig = try await FleetRig()
        defer { rig.shutdown() }
        let haproxy = try await HAProxy(backend: ["balance roundrobin", "option httpchk GET /readyz"], ports: rig.ports)
        defer { haproxy.stop() }
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
        let put = try await pusher.putManifest("v1", content.manifest, mediaType: Self.ociManifest)
        #expect(put.status == 201, "\(put.text)")

        // Read-your-writes on every node, before or after replication.
        for node in 0..<3 {
            let manifest = try await TestHTTP.shared.get("\(rig.url(node))/v2/up/team/pushed/manifests/v1", headers: [("Accept", Self.ociManifest)])
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
        let copied = try await TestHTTP.shared.get("\(haproxy.url)/v2/up/team/copied/manifests/v1", headers: [("Accept", Self.ociManifest)])
        #expect(copied.status == 200)
        try await eventually(timeout: .seconds(30)) {
            try await TestHTTP.shared.get("\(rig.registry.url)/v2/team/copied/manifests/v1", headers: [("Accept", Self.ociManifest)]).body == copied.body
        }
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
        let put = try await pusher.putManifest("v1", content.manifest, mediaType: Self.ociManifest)
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

        try await rig.nodes[killed].start()
        try await eventually(timeout: .seconds(60)) {
            try await PushTests.upstreamHolds(registry, "team/pushed", tag: "v1", content)
        }
        try await eventually(timeout: .seconds(30)) {
            try await PushTests.upstreamHolds(registry, "team/pushed", tag: "v2", newer)
        }
    }
}

extension FleetTests {
    @Test("behind deploy/haproxy/haproxy.cfg (repository hash): a push and its pulls reach one node (and its owner at most), all byte-identical")
    func pushesBehindTheShippedHAProxy() async throws {
        let rig = try await FleetRig()
        defer { rig.shutdown() }
        let haproxy = try await HAProxy(deployedFor: rig.ports)
        defer { haproxy.stop() }
        for repository in ["team/one", "team/two", "team/three"] {
            let forwardedBefore = try await Self.forwardedCounts(rig)
            let pusher = OCIPusher(base: "\(haproxy.url)/v2/up/\(repository)")
            let content = PushTests.image(layerSizes: [200_000, 100_000])
            try await pusher.pushBlobMonolithic(content.blobs[0])
            try await pusher.pushBlobChunked(content.blobs[1], chunkSize: 64_000)
            try await pusher.pushBlobMonolithic(content.config)
            #expect(try await pusher.putManifest("v1", content.manifest, mediaType: Self.ociManifest).status == 201)
            let pulled = try await TestHTTP.shared.get("\(haproxy.url)/v2/up/\(repository)/manifests/v1", headers: [("Accept", Self.ociManifest)])
            #expect(pulled.body == content.manifest)
            for blob in content.blobs + [content.config] {
                #expect(try await TestHTTP.shared.get("\(haproxy.url)/v2/up/\(repository)/blobs/\(TestHTTP.digest(of: blob))").body == blob)
            }
            try await eventually(timeout: .seconds(30)) { try await PushTests.upstreamHolds(rig.registry, repository, tag: "v1", content) }
            // Every request of the repository reached one node: at most that node forwarded (when
            // HAProxy's ring and Layover's owners differ); round-robin makes two nodes forward.
            let forwardedAfter = try await Self.forwardedCounts(rig)
            let forwarding = (0..<3).filter { forwardedAfter[$0] > forwardedBefore[$0] }
            #expect(forwarding.count <= 1, "\(repository): nodes \(forwarding) forwarded")
        }
    }

    /// Each node's forwarded-request count.
    static func forwardedCounts(_ rig: FleetRig) async throws -> [Int] {
        try await (0..<rig.ports.count).asyncMap { node in
            Self.number("forwardedRequests", in: try await TestHTTP.shared.get("\(rig.url(node))/_layover/status").text)
        }
    }

    @Test("a fourth node joining fills its misses from the nodes that hold the blobs, not from the upstream")
    func joiningNodeFillsFromPeers() async throws {
        let rig = try await FleetRig()
        defer { rig.shutdown() }
        let image = try await rig.seeder.pushImage("team/a", tag: "v1", layerSizes: [1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20])
        let blobs = image.layers.map(\.digest) + [image.configDigest]
        for blob in blobs {
            #expect(try await TestHTTP.shared.streamedDigest("\(rig.url(0))/v2/up/team/a/blobs/\(blob)").digest == blob)
        }
        let newcomer = try await rig.addNode()
        let before = rig.relay.bytesFromUpstream
        for blob in blobs {
            let (status, _, digest) = try await TestHTTP.shared.streamedDigest("\(rig.url(newcomer))/v2/up/team/a/blobs/\(blob)")
            #expect(status == 200 && digest == blob)
        }
        let moved = rig.relay.bytesFromUpstream - before
        #expect(moved < 64 << 10, "the new node moved \(moved) upstream bytes for blobs the fleet held")
        #expect(rig.storedBlobs(newcomer).isSuperset(of: Set(blobs)))
    }
}

extension FleetTests {
    @Test("a digest's owner that stops answering (SIGSTOP) is skipped after the first-byte timeout: the node goes upstream itself")
    func frozenOwnerIsSkipped() async throws {
        let rig = try await FleetRig()
        defer { rig.shutdown() }
        let bytes = randomBytes(500_000)
        let digest = try await rig.seeder.pushBlob("team/a", bytes)
        let members = rig.ports.map { Member(url: "http://127.0.0.1:\($0)") }
        let ownerURL = try #require(Rendezvous.owner(of: "blob:\(digest)", among: members))
        let owner = try #require(members.firstIndex(of: ownerURL))
        let asking = (owner + 1) % 3
        rig.nodes[owner].process?.send(signal: SIGSTOP)
        defer { rig.nodes[owner].process?.send(signal: SIGCONT) }
        let started = ContinuousClock.now
        let (status, count, received) = try await TestHTTP.shared.streamedDigest("\(rig.url(asking))/v2/up/team/a/blobs/\(digest)")
        let took = ContinuousClock.now - started
        #expect(status == 200 && count == bytes.count && received == digest)
        #expect(took >= .seconds(4) && took < .seconds(15), "answered after \(took)")
        let json = try await TestHTTP.shared.get("\(rig.url(asking))/_layover/status").text
        #expect(Self.number("peerErrors", in: json) == 1)
    }
}

extension Range<Int> {
    /// The first element for which `predicate` holds, asked in order.
    func asyncFirst(_ predicate: (Int) async throws -> Bool) async throws -> Int? {
        for element in self where try await predicate(element) { return element }
        return nil
    }

    /// `transform` of every element, one after the other.
    func asyncMap<T>(_ transform: (Int) async throws -> T) async throws -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
