import Foundation
import LayoverFleet
import LayoverTestSupport
import Testing

/// Three nodes with `--redirect-blobs`: a blob download a node does not hold is sent (`307`) to
/// the digest's owner with a signed grant, and one that came through a balancer to the serving
/// node's own URL, so the bytes go from the owner to the client straight; the grant opens that one
/// blob only, for a short time; a member that is down gets no redirects.
@Suite("Fleet blob redirects", .endToEnd)
struct FleetRedirectTests {
    final class Setup: @unchecked Sendable {
        let files: TemporaryDirectory
        let rig: FleetRig
        let token = "ci-\(UUID().uuidString)"

        /// Nodes that let only the token `ci` pull.
        init() async throws {
            files = try TemporaryDirectory()
            try """
                auth:
                  tokens:
                    - name: ci
                      sha256: \(AuthSetup.sha256(token))
                  anonymous: []
                  rules:
                    - who: [ci]
                      repositories: ["up/*"]
                      allow: [pull]
                """.write(toFile: files.path + "/layover.yaml", atomically: true, encoding: .utf8)
            rig = try await FleetRig(nodeArguments: ["--redirect-blobs", "--config", files.path + "/layover.yaml"])
        }

        var credential: (String, String) { ("Authorization", "Bearer \(token)") }

        func shutdown() {
            rig.shutdown()
            files.remove()
        }
    }

    @Test("a node without the blob redirects to its owner; following without credentials gets the verified bytes; the upstream sends each blob once; HEAD is answered in place")
    func redirectsToTheOwner() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let rig = setup.rig
        let image = try await rig.seeder.pushImage("team/r", tag: "v1", layerSizes: [1 << 20, 1 << 20, 1 << 20, 1 << 20])
        let before = rig.relay.bytesFromUpstream
        var redirects = 0
        for layer in image.layers {
            for node in 0..<3 {
                let url = "\(rig.url(node))/v2/up/team/r/blobs/\(layer.digest)"
                #expect(try await TestHTTP.shared.get(url).status == 401, "no credentials, no redirect")
                let head = try await TestHTTP.shared.head(url, headers: [setup.credential])
                #expect(head.status == 200 && head.header("Content-Length") == String(layer.bytes.count))
                let answer = try await TestHTTP.shared.get(url, headers: [setup.credential])
                if answer.status == 200 {
                    #expect(TestHTTP.digest(of: answer.body) == layer.digest)
                    continue
                }
                #expect(answer.status == 307)
                let location = try #require(answer.header("Location"))
                #expect(location.contains(BlobGrant.queryName + "="))
                let owner = try #require((0..<3).first { location.hasPrefix(rig.url($0) + "/v2/up/team/r/blobs/\(layer.digest)?") })
                #expect(owner != node)
                // As clients follow a redirect to another host: without Authorization.
                let followed = try await TestHTTP.shared.streamedDigest(location)
                #expect(followed.status == 200 && followed.digest == layer.digest)
                #expect(!rig.storedBlobs(node).contains(layer.digest), "the redirecting node keeps no copy")
                redirects += 1
            }
        }
        // Each blob is owned by one of three nodes: two of its three askers are redirected.
        #expect(redirects == 2 * image.layers.count)
        // Through a balancer (another Host), even the owner sends the client to its own URL, so the
        // body does not cross the balancer.
        for layer in image.layers {
            let owners = try await (0..<3).asyncMap { node in
                try await TestHTTP.shared.get("\(rig.url(node))/v2/up/team/r/blobs/\(layer.digest)", headers: [setup.credential]).status
            }
            let owner = try #require(owners.firstIndex(of: 200))
            redirects += owners.count { $0 == 307 }
            let url = "\(rig.url(owner))/v2/up/team/r/blobs/\(layer.digest)"
            let viaBalancer = try await TestHTTP.shared.get(url, headers: [setup.credential, ("Host", "registry.example:443")])
            #expect(viaBalancer.status == 307)
            let location = try #require(viaBalancer.header("Location"))
            #expect(location.hasPrefix(url + "?"))
            let followed = try await TestHTTP.shared.streamedDigest(location)
            #expect(followed.status == 200 && followed.digest == layer.digest)
            redirects += 1
        }
        var counted = 0
        for node in 0..<3 {
            counted += FleetRig.number("blobRedirects", in: try await TestHTTP.shared.get("\(rig.url(node))/_layover/status").text)
        }
        #expect(counted == redirects)
        let layerBytes = image.layers.map(\.bytes.count).reduce(0, +)
        let moved = rig.relay.bytesFromUpstream - before
        #expect(moved >= layerBytes && moved < layerBytes + layerBytes / 10, "moved \(moved) for \(layerBytes)")

        // curl follows the redirect as docker and containerd do (dropping Authorization on the
        // new host): byte-identical.
        let layer = image.layers[0]
        let output = setup.files.path + "/layer"
        let curl = try TestProcess(executable: "/usr/bin/curl", arguments: [
            "-sf", "-L", "-H", "Authorization: Bearer \(setup.token)", "-o", output, "\(rig.url(0))/v2/up/team/r/blobs/\(layer.digest)"])
        #expect(try await curl.waitForExit(timeout: .seconds(60)) == 0)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: output))) == layer.bytes)
    }

    @Test("a grant opens its own blob only, and not after it expires: altered, moved to another blob or route, or expired, it is 401")
    func grantsAreNarrow() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let rig = setup.rig
        let image = try await rig.seeder.pushImage("team/g", tag: "v1", layerSizes: [4096, 4096, 4096, 4096, 4096, 4096])
        // A layer some node redirects, and that redirect.
        var found: (location: String, digest: String)?
        for layer in image.layers where found == nil {
            let answer = try await TestHTTP.shared.get("\(rig.url(0))/v2/up/team/g/blobs/\(layer.digest)", headers: [setup.credential])
            if answer.status == 307, let location = answer.header("Location") { found = (location, layer.digest) }
        }
        let (location, digest) = try #require(found)
        #expect(try await TestHTTP.shared.get(location).status == 200)
        let altered = String(location.dropLast()) + (location.last == "0" ? "1" : "0")
        #expect(try await TestHTTP.shared.get(altered).status == 401)
        let other = try #require(image.layers.first { $0.digest != digest }).digest
        #expect(try await TestHTTP.shared.get(location.replacingOccurrences(of: digest, with: other)).status == 401)
        #expect(try await TestHTTP.shared.get(location.replacingOccurrences(of: "/blobs/", with: "/manifests/")).status == 401)
        #expect(try await TestHTTP.shared.get(location.replacingOccurrences(of: "team/g", with: "team/h")).status == 401)
        let owner = String(location.prefix { $0 != "?" })
        let expired = BlobGrant.make(FleetSecret(FleetRig.secret), name: "up/team/g", digest: digest, namespace: nil,
                                     now: Date().timeIntervalSince1970 - BlobGrant.lifetime - 5)
        #expect(try await TestHTTP.shared.get("\(owner)?\(BlobGrant.queryName)=\(expired)").status == 401)
        let fresh = BlobGrant.make(FleetSecret(FleetRig.secret), name: "up/team/g", digest: digest, namespace: nil,
                                   now: Date().timeIntervalSince1970)
        #expect(try await TestHTTP.shared.get("\(owner)?\(BlobGrant.queryName)=\(fresh)").status == 200)
        let forged = BlobGrant.make(FleetSecret("another-secret-0123456789"), name: "up/team/g", digest: digest, namespace: nil,
                                    now: Date().timeIntervalSince1970)
        #expect(try await TestHTTP.shared.get("\(owner)?\(BlobGrant.queryName)=\(forged)").status == 401)
    }

    @Test("a member that is down gets no redirects: within a few seconds the other nodes serve its blobs themselves")
    func noRedirectsToADeadMember() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let rig = setup.rig
        let image = try await rig.seeder.pushImage("team/d", tag: "v1", layerSizes: Array(repeating: 4096, count: 9))
        // A layer node 0 redirects, and the node it names.
        var found: (digest: String, owner: Int)?
        for layer in image.layers where found == nil {
            let answer = try await TestHTTP.shared.get("\(rig.url(0))/v2/up/team/d/blobs/\(layer.digest)", headers: [setup.credential])
            if answer.status == 307, let location = answer.header("Location"),
               let owner = (1..<3).first(where: { location.hasPrefix(rig.url($0)) }) {
                found = (layer.digest, owner)
            }
        }
        let (digest, owner) = try #require(found)
        rig.nodes[owner].stop(signal: SIGKILL)
        let url = "\(rig.url(0))/v2/up/team/d/blobs/\(digest)"
        var served: [UInt8] = []
        try await eventually(timeout: .seconds(10)) {
            let answer = try await TestHTTP.shared.get(url, headers: [setup.credential])
            served = answer.body
            return answer.status == 200
        }
        #expect(TestHTTP.digest(of: served) == digest)
    }
}
