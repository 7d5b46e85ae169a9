import LayoverWire
import Testing
@testable import layover

@Suite("warm")
struct WarmerTests {
    static let digest = "sha256:" + String(repeating: "b", count: 64)

    @Test("references as users write them", arguments: [
        ("docker.io/library/alpine:3.20", "docker.io/library/alpine", "3.20"),
        ("alpine", "alpine", "latest"),
        ("127.0.0.1:5000/up/team/app:v1", "127.0.0.1:5000/up/team/app", "v1"),
        ("localhost:5000/app", "localhost:5000/app", "latest"),
        ("ghcr.io/org/app@\(digest)", "ghcr.io/org/app", digest),
    ])
    func parsesReferences(_ text: String, _ name: String, _ reference: String) throws {
        let parsed = try ImageReference(parsing: text)
        #expect(parsed.name == name)
        #expect("\(parsed.reference)" == reference)
    }

    @Test("malformed references are refused", arguments: [":tag", "app:Bad Tag", "app@sha256:short"])
    func refusesMalformed(_ text: String) {
        #expect(throws: (any Error).self) { try ImageReference(parsing: text) }
    }

    @Test("an index's children filtered by platform")
    func platformFilter() throws {
        let amd = "sha256:" + String(repeating: "1", count: 64)
        let arm = "sha256:" + String(repeating: "2", count: 64)
        let armV7 = "sha256:" + String(repeating: "3", count: 64)
        let index = try Manifest(bytes: Array("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(amd)","size":1,"platform":{"os":"linux","architecture":"amd64"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(arm)","size":1,"platform":{"os":"linux","architecture":"arm64"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(armV7)","size":1,"platform":{"os":"linux","architecture":"arm","variant":"v7"}}]}
            """.utf8), contentType: nil)
        #expect(Warmer.children(of: index, platform: nil).count == 3)
        #expect(Warmer.children(of: index, platform: "linux/amd64") == [try Digest(parsing: amd)])
        #expect(Warmer.children(of: index, platform: "linux/arm/v7") == [try Digest(parsing: armV7)])
        #expect(Warmer.children(of: index, platform: "linux/arm") == [try Digest(parsing: armV7)])
        #expect(Warmer.children(of: index, platform: "windows/amd64").isEmpty)
    }
}
