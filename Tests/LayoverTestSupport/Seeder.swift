import Foundation

/// Pushes content into the upstream registry over its real HTTP API (POST, then monolithic PUT).
public struct Seeder {
    public let registry: String

    public init(registry: String) {
        self.registry = registry
    }

    /// Uploads a blob; returns its digest.
    @discardableResult
    public func pushBlob(_ repository: String, _ bytes: [UInt8]) async throws -> String {
        let digest = TestHTTP.digest(of: bytes)
        let start = try await TestHTTP.shared.send(.POST, "\(registry)/v2/\(repository)/blobs/uploads/")
        guard start.status == 202, var location = start.header("location") else {
            throw TestFailure("upload start failed: \(start.status) \(start.text)")
        }
        if location.hasPrefix("/") { location = registry + location }
        let separator = location.contains("?") ? "&" : "?"
        let done = try await TestHTTP.shared.send(.PUT, "\(location)\(separator)digest=\(digest)",
                                                  headers: [("Content-Type", "application/octet-stream")], body: bytes)
        guard done.status == 201 else { throw TestFailure("upload failed: \(done.status) \(done.text)") }
        return digest
    }

    /// Makes `repository` hold a blob `source` already holds, without sending it again
    /// (a cross-repository mount).
    public func mountBlob(_ repository: String, _ digest: String, from source: String) async throws {
        let answer = try await TestHTTP.shared.send(.POST, "\(registry)/v2/\(repository)/blobs/uploads/?mount=\(digest)&from=\(source)")
        guard answer.status == 201 else { throw TestFailure("mount of \(digest) failed: \(answer.status) \(answer.text)") }
    }

    /// Puts a manifest under `reference`; returns its digest.
    @discardableResult
    public func pushManifest(_ repository: String, _ reference: String, _ bytes: [UInt8], mediaType: String) async throws -> String {
        let answer = try await TestHTTP.shared.send(.PUT, "\(registry)/v2/\(repository)/manifests/\(reference)",
                                                    headers: [("Content-Type", mediaType)], body: bytes)
        guard answer.status == 201 else { throw TestFailure("manifest push failed: \(answer.status) \(answer.text)") }
        return TestHTTP.digest(of: bytes)
    }

    public struct Image {
        public var manifestDigest: String
        public var manifest: [UInt8]
        public var configDigest: String
        public var config: [UInt8]
        public var layers: [(digest: String, bytes: [UInt8])]
    }

    /// An OCI image of random layers of the given sizes, pushed under `tag`.
    public func pushImage(_ repository: String, tag: String, layerSizes: [Int], sharedLayers: [(digest: String, bytes: [UInt8])] = []) async throws -> Image {
        var layers = sharedLayers
        for size in layerSizes {
            let bytes = randomBytes(size)
            layers.append((try await pushBlob(repository, bytes), bytes))
        }
        for layer in sharedLayers { try await pushBlob(repository, layer.bytes) }
        let config = Array("""
            {"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[\(layers.map { "\"\($0.digest)\"" }.joined(separator: ","))]}}
            """.utf8)
        let configDigest = try await pushBlob(repository, config)
        let manifest = Array("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":\(config.count)},"layers":[\(layers.map { "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"\($0.digest)\",\"size\":\($0.bytes.count)}" }.joined(separator: ","))]}
            """.utf8)
        let digest = try await pushManifest(repository, tag, manifest, mediaType: "application/vnd.oci.image.manifest.v1+json")
        return Image(manifestDigest: digest, manifest: manifest, configDigest: configDigest, config: config, layers: layers)
    }
}

/// Random bytes, eight at a time from the system generator (fast enough for gigabytes).
public func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { buffer in
        var index = 0
        while index + 8 <= count {
            buffer.storeBytes(of: generator.next() as UInt64, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < count {
            buffer[index] = UInt8.random(in: 0...255)
            index += 1
        }
    }
    return bytes
}
