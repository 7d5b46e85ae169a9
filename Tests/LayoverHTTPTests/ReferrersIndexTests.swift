import Foundation
import LayoverStore
import LayoverWire
import Testing
@testable import LayoverHTTP

@Suite("Referrers index")
struct ReferrersIndexTests {
    static let a = Digest.sha256(of: [1])
    static let b = Digest.sha256(of: [2])

    static func manifests(_ json: [UInt8]) throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any]
        #expect(object?["schemaVersion"] as? Int == 2)
        #expect(object?["mediaType"] as? String == MediaType.ociIndex)
        return object?["manifests"] as? [[String: Any]] ?? []
    }

    @Test("the upstream's list and the local one merge without duplicates; the local entry wins")
    func merge() throws {
        var index = ReferrersIndex()
        index.merge(upstream: Array("""
            {"schemaVersion":2,"manifests":[{"mediaType":"\(MediaType.ociManifest)","digest":"\(Self.a)","size":10,"artifactType":"old"},
            {"mediaType":"\(MediaType.ociManifest)","digest":"\(Self.b)","size":20,"artifactType":"t"},{"digest":"nonsense"}]}
            """.utf8))
        index.merge(local: [ReferrerRecord(digest: Self.a, mediaType: MediaType.ociManifest, size: 10, artifactType: "new",
                                           annotationsJSON: "{\"k\":\"v\"}")])
        let entries = try Self.manifests(index.json(artifactType: nil))
        #expect(entries.map { $0["digest"] as? String } == [Self.a, Self.b].map(\.description).sorted().map { Optional($0) })
        let local = try #require(entries.first { $0["digest"] as? String == Self.a.description })
        #expect(local["artifactType"] as? String == "new")
        #expect((local["annotations"] as? [String: String]) == ["k": "v"])
    }

    @Test("the artifactType filter and deleted referrers")
    func filterAndDeleted() throws {
        var index = ReferrersIndex()
        index.merge(local: [
            ReferrerRecord(digest: Self.a, mediaType: MediaType.ociManifest, size: 1, artifactType: "sig", annotationsJSON: nil),
            ReferrerRecord(digest: Self.b, mediaType: MediaType.ociManifest, size: 1, artifactType: "sbom", annotationsJSON: nil),
        ])
        #expect(try Self.manifests(index.json(artifactType: "sig")).map { $0["digest"] as? String } == [Self.a.description])
        index.remove { $0 == Self.a.description }
        #expect(try Self.manifests(index.json(artifactType: "sig")).isEmpty)
        #expect(try Self.manifests(index.json(artifactType: nil)).count == 1)
    }

    @Test("no referrers and an upstream answer that is not an index: an empty index")
    func empty() throws {
        var index = ReferrersIndex()
        index.merge(upstream: Array("<html>".utf8))
        #expect(try Self.manifests(index.json(artifactType: nil)).isEmpty)
    }
}
