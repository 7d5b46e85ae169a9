import Foundation
import LayoverTestSupport

/// A BuildKit registry cache as `--cache-to type=registry,mode=max` leaves it: an OCI manifest
/// whose config is `application/vnd.buildkit.cacheconfig.v0`, layers of random bytes.
struct SyntheticCache {
    var repository: String
    var tag: String
    var manifest: [UInt8]
    /// The config first, then the layers: what an importing client downloads.
    var blobs: [(digest: String, size: Int)]

    var bytes: Int { blobs.reduce(0) { $0 + $1.size } }

    /// 20 layer sizes from 1 to 256 MiB, about 850 MiB in all.
    static let defaultLayerMiB = [1, 1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 256]

    /// Pushes a cache of fresh random layers of `layerMiB` sizes.
    static func seed(_ seeder: Seeder, repository: String, layerMiB: [Int]) async throws -> SyntheticCache {
        var layers: [(digest: String, size: Int)] = []
        for mib in layerMiB {
            layers.append((try await seeder.pushBlob(repository, randomBytes(mib << 20)), mib << 20))
        }
        return try await finish(seeder, repository: repository, layers: layers)
    }

    /// A second cache in `repository` sharing every other layer of `base` (mounted, not re-sent),
    /// the others fresh and of the same sizes.
    static func seedSharingHalf(of base: SyntheticCache, _ seeder: Seeder, repository: String) async throws -> SyntheticCache {
        var layers: [(digest: String, size: Int)] = []
        for (index, layer) in base.blobs.dropFirst().enumerated() {
            if index % 2 == 0 {
                try await seeder.mountBlob(repository, layer.digest, from: base.repository)
                layers.append(layer)
            } else {
                layers.append((try await seeder.pushBlob(repository, randomBytes(layer.size)), layer.size))
            }
        }
        return try await finish(seeder, repository: repository, layers: layers)
    }

    /// An OCI image manifest naming `config` (of media type `configType`) and gzip `layers`.
    static func manifest(configType: String, config: (digest: String, size: Int), layers: [(digest: String, size: Int)]) -> [UInt8] {
        Array("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"\(configType)","digest":"\(config.digest)","size":\(config.size)},"layers":[\(layers.map { "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"\($0.digest)\",\"size\":\($0.size)}" }.joined(separator: ","))]}
            """.utf8)
    }

    private static func finish(_ seeder: Seeder, repository: String, layers: [(digest: String, size: Int)]) async throws -> SyntheticCache {
        let config = Array("""
            {"layers":[\(layers.indices.map { "{\"blob\":\"\(layers[$0].digest)\",\"parent\":\($0 - 1)}" }.joined(separator: ","))],"records":[]}
            """.utf8)
        let configDigest = try await seeder.pushBlob(repository, config)
        let manifest = Self.manifest(configType: "application/vnd.buildkit.cacheconfig.v0", config: (configDigest, config.count), layers: layers)
        try await seeder.pushManifest(repository, "buildcache", manifest, mediaType: "application/vnd.oci.image.manifest.v1+json")
        return SyntheticCache(repository: repository, tag: "buildcache", manifest: manifest,
                              blobs: [(configDigest, config.count)] + layers)
    }
}
