import Foundation
import LayoverFleet
import LayoverTestSupport
import Testing

/// Three nodes in one fleet (issue 12), pulling: one upstream fetch per blob for the whole fleet,
/// a dead, frozen or new member costing only what it alone held, and a peer side closed to clients.
@Suite("Fleet pulls", .endToEnd)
struct FleetPullTests {
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
                    let manifest = try await TestHTTP.shared.get("\(base)/manifests/v1", headers: [("Accept", PushTests.ociManifest)])
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
        // A peer too slow to answer in time is skipped and the node goes upstream itself (by
        // design): on a loaded machine (a whole-suite run on 2 cores) that happened, 1.25x moved.
        // An upstream body idle past the read timeout is resumed from the byte written, and what
        // was in flight on the dropped connection crossed the link for nothing. Either relaxes the
        // link's bound to what such a fallback allows; otherwise "about once". The bytes the nodes
        // wrote from the upstream show a second download of a blob whatever the link did.
        var peerErrors = 0, resumes = 0, fetched = 0
        for node in 0..<3 {
            let metrics = PrometheusText(try await TestHTTP.shared.get("\(rig.url(node))/metrics").text)
            peerErrors += Int(metrics.value("layover_peer_errors_total"))
            resumes += Int(metrics.value("layover_upstream_resumes_total"))
            fetched += Int(metrics.value("layover_upstream_fetched_bytes_total"))
        }
        let once = uniqueBytes + uniqueBytes / 10 + 256 << 10
        let detail = "the fleet moved \(moved) upstream bytes and wrote \(fetched) for \(uniqueBytes) unique bytes, "
            + "\(peerErrors) peer errors, \(resumes) resumes\n\(rig.logTails)"
        #expect(moved < (peerErrors == 0 && resumes == 0 ? once : 2 * uniqueBytes), "\(detail)")
        #expect(fetched >= uniqueBytes && fetched < (peerErrors == 0 ? once : 2 * uniqueBytes), "\(detail)")
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
            used += FleetRig.number("peerFillsUsed", in: json)
            served += FleetRig.number("peerFillsServed", in: json)
        }
        #expect(used > 0 && used == served, "fills used \(used), served \(served)")
    }

    @Test("a manifest by digest missed on every node crosses the upstream link once: the digest's owner fills the others")
    func manifestsByDigestFromTheOwner() async throws {
        let rig = try await FleetRig()
        defer { rig.shutdown() }
        // 150 layers: a manifest of about 20 KiB, larger than the headers around it.
        let image = try await rig.seeder.pushImage("team/many", tag: "v1", layerSizes: Array(repeating: 8, count: 150))
        #expect(image.manifest.count > 20_000)
        let before = rig.relay.bytesFromUpstream
        for node in 0..<3 {
            let answer = try await TestHTTP.shared.get("\(rig.url(node))/v2/up/team/many/manifests/\(image.manifestDigest)",
                                                       headers: [("Accept", PushTests.ociManifest)])
            #expect(answer.status == 200 && answer.body == image.manifest, "node \(node): \(answer.status)")
            #expect(answer.header("docker-content-digest") == image.manifestDigest)
        }
        let fetched = rig.relay.bytesFromUpstream - before
        #expect(fetched >= image.manifest.count && fetched < image.manifest.count * 3 / 2,
                "\(fetched) bytes from the upstream for a \(image.manifest.count)-byte manifest asked of three nodes")
        var used = 0, served = 0
        for node in 0..<3 {
            let json = try await TestHTTP.shared.get("\(rig.url(node))/_layover/status").text
            used += FleetRig.number("peerFillsUsed", in: json)
            served += FleetRig.number("peerFillsServed", in: json)
        }
        #expect(used == 2 && served == 2, "fills used \(used), served \(served)")
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
        #expect(FleetRig.number("peerErrors", in: json) == 1)
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
}
