// Fuzz target: a pushed or fetched manifest, `Manifest(bytes:contentType:)`.
// Input: one byte choosing the Content-Type (none, JSON, OCI, Docker, with parameters, other),
// then the manifest's bytes.
// modules: LayoverWire
import LayoverWire

private let contentTypes: [String?] = [
    nil, "", "application/json", MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest,
    MediaType.dockerManifestList, "\(MediaType.ociManifest); charset=utf-8", " Application/VND.OCI.image.index.v1+json ",
    "text/plain",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = fuzzBytes(data, size)[...]
    let contentType = contentTypes[Int(takeInteger(&bytes, count: 1)) % contentTypes.count]
    guard let manifest = try? Manifest(bytes: Array(bytes), contentType: contentType) else { return 0 }
    // The digest is of the bytes as received, whatever they say.
    require(manifest.bytes == Array(bytes), "bytes not kept as received")
    require(manifest.digest == Digest.sha256(of: bytes) && manifest.matches(manifest.digest), "digest not of the bytes")
    require(!manifest.mediaType.isEmpty, "empty media type accepted")
    require(manifest.references.count == (manifest.config == nil ? 0 : 1) + manifest.layers.count + manifest.manifests.count)
    _ = manifest.isBuildKitCache
    return 0
}
