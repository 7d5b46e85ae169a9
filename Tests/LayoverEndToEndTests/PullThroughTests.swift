import Foundation
import LayoverTestSupport
import Testing

/// Pulls through Layover with skopeo and HTTP, against distribution's registry as upstream.
@Suite("Pull-through", .endToEnd)
struct PullThroughTests {
    @Test("skopeo pulls an image byte-identical to the upstream; a second pull moves no blob bytes")
    func skopeoPullIsIdenticalAndSecondPullIsLocal() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [1 << 20, 3 << 20])
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }

        let direct = try await Skopeo.copy("\(fixture.registry.url.dropFirst(7))/team/app:v1", into: scratch.path + "/direct")
        let proxied = try await Skopeo.copy(fixture.reference("team/app", "v1"), into: scratch.path + "/first")
        #expect(proxied == direct)
        #expect(proxied["manifest.json"] == image.manifest)

        let before = fixture.relay.bytesFromUpstream
        let again = try await Skopeo.copy(fixture.reference("team/app", "v1"), into: scratch.path + "/second")
        #expect(again == direct)
        let moved = fixture.relay.bytesFromUpstream - before
        #expect(moved < 16 * 1024, "second pull moved \(moved) bytes upstream")
    }

    @Test("a second repository sharing layers moves only its own bytes")
    func sharedLayersMoveOnce() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let first = try await fixture.seeder.pushImage("team/base", tag: "v1", layerSizes: [4 << 20, 4 << 20])
        let second = try await fixture.seeder.pushImage("team/derived", tag: "v1", layerSizes: [1 << 20], sharedLayers: first.layers)
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }

        _ = try await Skopeo.copy(fixture.reference("team/base", "v1"), into: scratch.path + "/base")
        let before = fixture.relay.bytesFromUpstream
        let pulled = try await Skopeo.copy(fixture.reference("team/derived", "v1"), into: scratch.path + "/derived")
        let moved = fixture.relay.bytesFromUpstream - before
        #expect(pulled["manifest.json"] == second.manifest)
        for layer in second.layers {
            #expect(pulled[String(layer.digest.dropFirst(7))] == layer.bytes)
        }
        #expect(moved < (1 << 20) + 64 * 1024, "moved \(moved) bytes; the shared 8 MiB must not move again")
        #expect(moved >= 1 << 20)
    }

    @Test("a blob cached through one repository is not served for a repository the upstream says lacks it")
    func crossRepositoryIsolation() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let secret = randomBytes(64 * 1024)
        let digest = try await fixture.seeder.pushBlob("team/private", secret)
        let cached = try await TestHTTP.shared.get("\(fixture.url("team/private"))/blobs/\(digest)")
        #expect(cached.status == 200)
        #expect(cached.body == secret)

        try await fixture.seeder.pushBlob("team/other", randomBytes(10))
        let leaked = try await TestHTTP.shared.get("\(fixture.url("team/other"))/blobs/\(digest)")
        #expect(leaked.status == 404)
        #expect(leaked.text.contains("BLOB_UNKNOWN"))
        let head = try await TestHTTP.shared.head("\(fixture.url("team/other"))/blobs/\(digest)")
        #expect(head.status == 404)
    }

    @Test("a manifest cached through one repository and absent from another is MANIFEST_UNKNOWN there")
    func crossRepositoryManifestUnknown() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("ci/app", tag: "v1", layerSizes: [10])
        try await fixture.seeder.pushBlob("ci/other", randomBytes(10))
        let accept = [("Accept", "application/vnd.oci.image.manifest.v1+json")]
        let cached = try await TestHTTP.shared.get("\(fixture.url("ci/app"))/manifests/\(image.manifestDigest)", headers: accept)
        #expect(cached.status == 200)
        let other = try await TestHTTP.shared.get("\(fixture.url("ci/other"))/manifests/\(image.manifestDigest)", headers: accept)
        #expect(other.status == 404)
        #expect(other.text.contains("\"MANIFEST_UNKNOWN\""), "\(other.text)")
    }

    @Test("with tagFreshnessSeconds, a client that accepts the index gets the index, not another client's platform manifest")
    func freshTagsKeepTheNegotiation() async throws {
        let config = try TemporaryDirectory()
        defer { config.remove() }
        let path = config.path + "/layover.yml"
        try "upstreams:\n  up:\n    url: http://127.0.0.1:1\n    tagFreshnessSeconds: 300\n".write(toFile: path, atomically: true, encoding: .utf8)
        let fixture = try await Fixture(layoverArguments: ["--config", path])
        defer { fixture.shutdown() }
        let manifestType = "application/vnd.docker.distribution.manifest.v2+json"
        let listType = "application/vnd.docker.distribution.manifest.list.v2+json"
        var children: [(digest: String, size: Int, architecture: String)] = []
        for architecture in ["amd64", "arm64"] {
            let layer = randomBytes(100)
            let layerDigest = try await fixture.seeder.pushBlob("team/multi", layer)
            let configBytes = Array("{\"architecture\":\"\(architecture)\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"\(layerDigest)\"]}}".utf8)
            let configDigest = try await fixture.seeder.pushBlob("team/multi", configBytes)
            let manifest = Array("""
                {"schemaVersion":2,"mediaType":"\(manifestType)","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"\(configDigest)","size":\(configBytes.count)},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"\(layerDigest)","size":\(layer.count)}]}
                """.utf8)
            let digest = try await fixture.seeder.pushManifest("team/multi", TestHTTP.digest(of: manifest), manifest, mediaType: manifestType)
            children.append((digest, manifest.count, architecture))
        }
        let list = Array("""
            {"schemaVersion":2,"mediaType":"\(listType)","manifests":[\(children.map { "{\"mediaType\":\"\(manifestType)\",\"digest\":\"\($0.digest)\",\"size\":\($0.size),\"platform\":{\"architecture\":\"\($0.architecture)\",\"os\":\"linux\"}}" }.joined(separator: ","))]}
            """.utf8)
        let listDigest = try await fixture.seeder.pushManifest("team/multi", "latest", list, mediaType: listType)
        let url = "\(fixture.url("team/multi"))/manifests/latest"

        let direct = try await TestHTTP.shared.get("\(fixture.registry.url)/v2/team/multi/manifests/latest", headers: [("Accept", manifestType)])
        try #require(direct.header("docker-content-digest") == children[0].digest, "the upstream negotiates: one platform for a manifest-only client")

        let first = try await TestHTTP.shared.get(url, headers: [("Accept", manifestType)])
        #expect(first.header("docker-content-digest") == children[0].digest)
        let second = try await TestHTTP.shared.get(url, headers: [("Accept", listType), ("Accept", manifestType)])
        #expect(second.status == 200)
        #expect(second.header("docker-content-digest") == listDigest, "a client that accepts the list gets the list")
        #expect(second.header("content-type") == listType)
        let again = try await TestHTTP.shared.get(url, headers: [("Accept", manifestType)])
        #expect(again.header("docker-content-digest") == children[0].digest)
    }

    @Test("tags are revalidated upstream, and the last known digest is served while the upstream is down")
    func tagRevalidationAndStaleFallback() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let accept = [("Accept", "application/vnd.oci.image.manifest.v1+json")]
        let old = try await fixture.seeder.pushImage("team/app", tag: "latest", layerSizes: [1024])
        let first = try await TestHTTP.shared.get("\(fixture.url("team/app"))/manifests/latest", headers: accept)
        #expect(first.header("docker-content-digest") == old.manifestDigest)

        let new = try await fixture.seeder.pushImage("team/app", tag: "latest", layerSizes: [2048])
        let second = try await TestHTTP.shared.get("\(fixture.url("team/app"))/manifests/latest", headers: accept)
        #expect(second.header("docker-content-digest") == new.manifestDigest)
        #expect(second.body == new.manifest)

        fixture.registry.stop()
        let stale = try await TestHTTP.shared.get("\(fixture.url("team/app"))/manifests/latest", headers: accept)
        #expect(stale.status == 200)
        #expect(stale.header("docker-content-digest") == new.manifestDigest)
        #expect(stale.body == new.manifest)
        let byDigest = try await TestHTTP.shared.get("\(fixture.url("team/app"))/manifests/\(new.manifestDigest)", headers: accept)
        #expect(byDigest.body == new.manifest)
    }

    @Test("names route by prefix, by ns= and to the default upstream")
    func addressingModes() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [100])
        let accept = [("Accept", "application/vnd.oci.image.manifest.v1+json")]
        let prefixed = try await TestHTTP.shared.get("\(fixture.layover.url)/v2/up/team/app/manifests/v1", headers: accept)
        let mirrored = try await TestHTTP.shared.get("\(fixture.layover.url)/v2/team/app/manifests/v1?ns=up", headers: accept)
        let defaulted = try await TestHTTP.shared.get("\(fixture.layover.url)/v2/team/app/manifests/v1", headers: accept)
        for answer in [prefixed, mirrored, defaulted] {
            #expect(answer.status == 200)
            #expect(answer.body == image.manifest)
            #expect(answer.header("docker-distribution-api-version") == "registry/2.0")
        }
        #expect(mirrored.header("oci-namespace") == "up")
        let tags = try await TestHTTP.shared.get("\(fixture.url("team/app"))/tags/list")
        #expect(tags.status == 200)
        #expect(tags.text.contains("\"v1\""))
    }
}
