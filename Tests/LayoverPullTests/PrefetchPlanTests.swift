import LayoverUpstream
import LayoverWire
import Testing
@testable import LayoverPull

@Suite("Prefetch plan")
struct PrefetchPlanTests {
    static let layerType = "application/vnd.oci.image.layer.v1.tar+gzip"

    static func digest(_ n: Int) -> Digest { Digest.sha256(of: Array("layer \(n)".utf8)) }

    static func descriptor(_ n: Int, size: Int64, mediaType: String = layerType) -> String {
        "{\"mediaType\":\"\(mediaType)\",\"digest\":\"\(digest(n))\",\"size\":\(size)}"
    }

    static func manifest(config: String, sizes: [Int64]) throws -> Manifest {
        let layers = sizes.enumerated().map { descriptor($0.offset, size: $0.element) }.joined(separator: ",")
        return try Manifest(bytes: Array("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\(descriptor(99, size: 10, mediaType: config)),"layers":[\(layers)]}
            """.utf8), contentType: nil)
    }

    static func index(sizes: [Int64]) throws -> Manifest {
        let entries = sizes.enumerated().map { descriptor($0.offset, size: $0.element) } + [descriptor(99, size: 10, mediaType: MediaType.buildkitCacheConfig)]
        return try Manifest(bytes: Array("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[\(entries.joined(separator: ","))]}
            """.utf8), contentType: nil)
    }

    @Test("both cache forms plan their layers, not the cacheconfig")
    func bothForms() throws {
        let manifest = try Self.manifest(config: MediaType.buildkitCacheConfig, sizes: [10, 20])
        let index = try Self.index(sizes: [10, 20])
        #expect(manifest.cacheForm == .manifest)
        #expect(index.cacheForm == .index)
        for cache in [manifest, index] {
            let plan = PrefetchPlan(cache, policy: PrefetchPolicy()) { _ in false }
            #expect(plan.layers.map(\.digest) == [Self.digest(0), Self.digest(1)])
            #expect(plan.bytes == 30)
            #expect(plan.capped.isEmpty)
        }
    }

    @Test("an ordinary image plans nothing, and neither does a cache with prefetch off")
    func nothing() throws {
        let image = try Self.manifest(config: "application/vnd.oci.image.config.v1+json", sizes: [10])
        #expect(image.cacheForm == nil)
        let plan = PrefetchPlan(image, policy: PrefetchPolicy()) { _ in false }
        #expect(plan.layers.isEmpty && plan.capped.isEmpty)
        let cache = try Self.manifest(config: MediaType.buildkitCacheConfig, sizes: [10])
        #expect(PrefetchPlan(cache, policy: PrefetchPolicy(cacheManifests: false)) { _ in false }.layers.isEmpty)
    }

    @Test("stored layers are left out and do not count toward the cap")
    func stored() throws {
        let cache = try Self.manifest(config: MediaType.buildkitCacheConfig, sizes: [100, 10, 20])
        let plan = PrefetchPlan(cache, policy: PrefetchPolicy(maxBytes: 30)) { $0 == Self.digest(0) }
        #expect(plan.layers.map(\.digest) == [Self.digest(1), Self.digest(2)])
        #expect(plan.capped.isEmpty)
    }

    @Test("the first layer past the byte cap stops the plan")
    func capped() throws {
        let cache = try Self.manifest(config: MediaType.buildkitCacheConfig, sizes: [10, 50, 5])
        let plan = PrefetchPlan(cache, policy: PrefetchPolicy(maxBytes: 40)) { _ in false }
        #expect(plan.layers.map(\.digest) == [Self.digest(0)])
        #expect(plan.capped.map(\.digest) == [Self.digest(1), Self.digest(2)])
    }
}
