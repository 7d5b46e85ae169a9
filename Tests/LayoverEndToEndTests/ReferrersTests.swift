import Foundation
import LayoverTestSupport
import Testing

/// The referrers API as OCI distribution-spec v1.1 defines it, for manifests pushed through Layover.
@Suite("Referrers", .endToEnd)
struct ReferrersTests {
    /// An artifact manifest naming `subject`, with an empty config and one empty layer.
    static func artifact(subject: String, size: Int, artifactType: String?, annotations: [String: String],
                         empty: String, index: Bool = false) -> [UInt8] {
        let type = artifactType.map { "\"artifactType\":\"\($0)\"," } ?? ""
        let notes = annotations.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
        let body = index
            ? "\"mediaType\":\"\(PushTests.ociIndex)\",\(type)\"manifests\":[]"
            : "\"mediaType\":\"\(PushTests.ociManifest)\",\(type)\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"\(empty)\",\"size\":2},\"layers\":[{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"\(empty)\",\"size\":2}]"
        return Array("""
            {"schemaVersion":2,\(body),"subject":{"mediaType":"\(PushTests.ociManifest)","digest":"\(subject)","size":\(size)},"annotations":{\(notes)}}
            """.utf8)
    }

    static func list(_ url: String) async throws -> (answer: TestHTTP.Answer, manifests: [[String: Any]]) {
        let answer = try await TestHTTP.shared.get(url)
        let object = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
        return (answer, object?["manifests"] as? [[String: Any]] ?? [])
    }

    @Test("five referrers with annotations: listed with artifactType and annotations, filtered by artifactType, a deleted one leaves the list")
    func fiveReferrers() async throws {
        let (fixture, directory) = try await DeleteTests.fixture()
        defer { fixture.shutdown(); directory.remove() }
        let base = fixture.url("team/app")
        let pusher = OCIPusher(base: base)
        let image = PushTests.image(layerSizes: [1000])
        #expect(try await PushTests.push(image, to: pusher, tag: "v1").status == 201)
        let empty = try await pusher.pushBlobMonolithic(Array("{}".utf8))

        var pushed: [String: (type: String?, note: String)] = [:]
        for number in 0..<5 {
            // Two signatures, two SBOMs as manifests, and an index whose type is its own.
            let type: String? = number < 2 ? "application/vnd.example.signature" : number < 4 ? nil : "application/vnd.example.bundle"
            let bytes = Self.artifact(subject: image.digest, size: image.manifest.count, artifactType: type,
                                      annotations: ["org.example.number": "\(number)"], empty: empty, index: number == 4)
            let digest = TestHTTP.digest(of: bytes)
            let put = try await pusher.putManifest(digest, bytes, mediaType: number == 4 ? PushTests.ociIndex : PushTests.ociManifest)
            #expect(put.status == 201, "\(put.text)")
            #expect(put.header("oci-subject") == image.digest)
            pushed[digest] = (type, "\(number)")
        }
        // A manifest without a subject answers without OCI-Subject.
        #expect(try await PushTests.push(PushTests.image(layerSizes: [10]), to: pusher, tag: "plain").header("oci-subject") == nil)

        let (all, manifests) = try await Self.list("\(base)/referrers/\(image.digest)")
        #expect(all.status == 200)
        #expect(all.header("content-type") == PushTests.ociIndex)
        #expect(all.header("oci-filters-applied") == nil)
        #expect(Set(manifests.compactMap { $0["digest"] as? String }) == Set(pushed.keys))
        for entry in manifests {
            let digest = entry["digest"] as? String ?? ""
            // artifactType: the manifest's own, else its config's media type.
            #expect(entry["artifactType"] as? String == pushed[digest]?.type ?? (pushed[digest]?.note == "4" ? nil : "application/vnd.oci.empty.v1+json"),
                    "\(entry)")
            #expect((entry["annotations"] as? [String: String])?["org.example.number"] == pushed[digest]?.note)
            #expect(entry["size"] as? Int != nil && entry["mediaType"] as? String != nil)
        }

        let (filtered, signatures) = try await Self.list("\(base)/referrers/\(image.digest)?artifactType=application/vnd.example.signature")
        #expect(filtered.status == 200)
        #expect(filtered.header("oci-filters-applied") == "artifactType")
        #expect(signatures.count == 2)
        #expect(signatures.allSatisfy { $0["artifactType"] as? String == "application/vnd.example.signature" })

        let gone = try #require(signatures.first?["digest"] as? String)
        #expect(try await TestHTTP.shared.send(.DELETE, "\(base)/manifests/\(gone)").status == 202)
        let (_, after) = try await Self.list("\(base)/referrers/\(image.digest)")
        #expect(after.count == 4)
        #expect(!after.contains { $0["digest"] as? String == gone })

        // Nothing refers to the config: an empty index, not 404.
        let (none, nothing) = try await Self.list("\(base)/referrers/\(TestHTTP.digest(of: image.config))")
        #expect(none.status == 200)
        #expect(nothing.isEmpty)
        #expect(none.text.contains("\"schemaVersion\":2"))
    }

    @Test("the upstream's referrers merge with those pushed here, without duplicates, filtered alike")
    func mergedWithUpstream() async throws {
        let rig = try await GatewayRig(lifetime: 300, chunk: "64MiB")
        defer { rig.shutdown() }
        let base = "\(rig.layover.url)/v2/up/team/app"
        let pusher = OCIPusher(base: base)
        let image = PushTests.image(layerSizes: [1000])
        #expect(try await PushTests.push(image, to: pusher, tag: "v1").status == 201)
        let empty = try await pusher.pushBlobMonolithic(Array("{}".utf8))
        let local = Self.artifact(subject: image.digest, size: image.manifest.count, artifactType: "application/vnd.example.signature",
                                  annotations: ["org.example.side": "here"], empty: empty)
        #expect(try await pusher.putManifest(TestHTTP.digest(of: local), local, mediaType: PushTests.ociManifest).status == 201)
        // The upstream lists the same referrer (as it would once replicated) and one of its own.
        let upstreamOnly = "sha256:" + String(repeating: "cd", count: 32)
        let descriptor = { (digest: String, type: String, side: String) in
            "{\"mediaType\":\"\(PushTests.ociManifest)\",\"digest\":\"\(digest)\",\"size\":10,\"artifactType\":\"\(type)\",\"annotations\":{\"org.example.side\":\"\(side)\"}}"
        }
        let upstreamIndex = "{\"schemaVersion\":2,\"mediaType\":\"\(PushTests.ociIndex)\",\"manifests\":[" +
            descriptor(TestHTTP.digest(of: local), "application/vnd.example.signature", "upstream") + "," +
            descriptor(upstreamOnly, "application/vnd.example.sbom", "upstream") + "]}"
        rig.gateway.state.withLock { $0.referrers[image.digest] = upstreamIndex }

        let (answer, manifests) = try await Self.list("\(base)/referrers/\(image.digest)")
        #expect(answer.status == 200)
        #expect(manifests.compactMap { $0["digest"] as? String }.sorted() == [TestHTTP.digest(of: local), upstreamOnly].sorted())
        let mine = manifests.first { $0["digest"] as? String == TestHTTP.digest(of: local) }
        #expect((mine?["annotations"] as? [String: String])?["org.example.side"] == "here", "the entry pushed here wins")
        let (_, sboms) = try await Self.list("\(base)/referrers/\(image.digest)?artifactType=application/vnd.example.sbom")
        #expect(sboms.compactMap { $0["digest"] as? String } == [upstreamOnly])
    }

    @Test("a referrer whose subject exists nowhere is accepted, listed, and replicated")
    func absentSubject() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let base = fixture.url("team/app")
        let pusher = OCIPusher(base: base)
        let empty = try await pusher.pushBlobMonolithic(Array("{}".utf8))
        let subject = "sha256:" + String(repeating: "ab", count: 32)
        let bytes = Self.artifact(subject: subject, size: 1234, artifactType: "application/vnd.example.signature",
                                  annotations: ["org.example": "orphan"], empty: empty)
        let put = try await pusher.putManifest("sig", bytes, mediaType: PushTests.ociManifest)
        #expect(put.status == 201, "\(put.text)")
        #expect(put.header("oci-subject") == subject)
        #expect(try await TestHTTP.shared.get("\(base)/manifests/\(subject)", headers: DeleteTests.accept).status == 404)

        let (answer, manifests) = try await Self.list("\(base)/referrers/\(subject)")
        #expect(answer.status == 200)
        #expect(manifests.map { $0["digest"] as? String } == [TestHTTP.digest(of: bytes)])
        #expect((manifests.first?["annotations"] as? [String: String])?["org.example"] == "orphan")
        try await eventually(timeout: .seconds(30)) {
            try await TestHTTP.shared.get("\(fixture.registry.url)/v2/team/app/manifests/sig", headers: DeleteTests.accept).body == bytes
        }
    }
}
