import Testing
@testable import LayoverWire

@Suite("MediaType")
struct MediaTypeTests {
    @Test func anEmptyAcceptListAcceptsAnything() {
        #expect(MediaType.isAccepted(MediaType.dockerManifest, by: []))
    }

    @Test func acceptsAnExactMatchIgnoringParameters() {
        #expect(MediaType.isAccepted(MediaType.ociManifest, by: [MediaType.ociIndex, MediaType.ociManifest]))
        #expect(MediaType.isAccepted(MediaType.ociManifest, by: ["\(MediaType.ociManifest); q=0.9"]))
        #expect(MediaType.isAccepted(MediaType.ociManifest, by: [" \(MediaType.ociManifest) ;q=0.5"]))
    }

    @Test func wildcardsAcceptAnything() {
        #expect(MediaType.isAccepted(MediaType.dockerManifestList, by: ["*/*"]))
        #expect(MediaType.isAccepted(MediaType.dockerManifestList, by: ["application/*; q=0.1"]))
    }

    @Test func refusesTypesNotListed() {
        #expect(!MediaType.isAccepted(MediaType.ociIndex, by: [MediaType.ociManifest, MediaType.dockerManifest]))
        #expect(!MediaType.isAccepted(MediaType.ociIndex, by: ["text/*"]))
        #expect(!MediaType.isAccepted(MediaType.ociIndex, by: [""]))
    }

    @Test func theDefaultAcceptListNamesEveryManifestTypeIndexesFirst() {
        #expect(MediaType.defaultManifestAccept == [
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.docker.distribution.manifest.v2+json",
        ])
        #expect(MediaType.buildkitCacheConfig == "application/vnd.buildkit.cacheconfig.v0")
    }
}

@Suite("Media type parameters")
struct MediaTypeParameterTests {
    @Test("a Content-Type's parameters are not part of the stored media type", arguments: [
        ("application/vnd.oci.image.manifest.v1+json; charset=utf-8", "application/vnd.oci.image.manifest.v1+json"),
        (" Application/VND.OCI.image.index.v1+json ;x=y", "application/vnd.oci.image.index.v1+json"),
        ("application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.manifest.v1+json"),
    ])
    func essence(_ contentType: String, _ expected: String) throws {
        #expect(MediaType.essence(contentType) == expected)
        let bytes = Array(#"{"schemaVersion":2,"layers":[]}"#.utf8)
        let manifest = try Manifest(bytes: bytes, contentType: contentType)
        #expect(manifest.mediaType == expected)
        #expect(MediaType.isAccepted(manifest.mediaType, by: [expected]))
    }
}
