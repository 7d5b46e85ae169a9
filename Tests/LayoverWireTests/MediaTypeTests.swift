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
