import Foundation
import LayoverWire
import Testing
@testable import LayoverStore

/// A tag that moves orphans what only its old manifest named; eviction takes orphans first and
/// never what a pending replication job needs; orphan marks survive a restart.
@Suite("Orphan eviction")
final class OrphanEvictionTests {
    let scratch = ScratchDirectory()
    let clock = ManualClock(1_000)
    let app = RepositoryKey(upstream: "up", repository: try! RepositoryName("team/app"))
    let cache = RepositoryKey(upstream: "up", repository: try! RepositoryName("team/cache"))

    func open(maxBytes: Int64 = 1 << 30) throws -> BlobStore {
        try BlobStore(layout: StoreLayout(root: scratch.path + "/store"), budget: StoreBudget(maxBytes: maxBytes),
                      clock: clock.function, availableBytes: plentyOfDisk)
    }

    func blob(_ store: BlobStore, _ seed: UInt8, size: Int = 10_000) async throws -> Digest {
        let bytes = [UInt8](repeating: seed, count: size)
        let digest = Digest.sha256(of: bytes)
        _ = try await store.put(bytes, digest: digest, mediaType: nil)
        return digest
    }

    /// An OCI manifest naming `layers` (a cacheconfig config when `cache`), stored and tagged `tag` as seen upstream.
    @discardableResult
    func manifest(_ store: BlobStore, _ repository: RepositoryKey, _ tag: String, layers: [Digest], cache: Bool) async throws -> Digest {
        let config = try await blob(store, UInt8(truncatingIfNeeded: layers.count + (cache ? 100 : 200)), size: 50)
        let descriptors = layers.map { "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"\($0)\",\"size\":10000}" }
        let bytes = Array("""
            {"schemaVersion":2,"mediaType":"\(MediaType.ociManifest)","config":{"mediaType":"\(cache ? MediaType.buildkitCacheConfig : "application/vnd.oci.image.config.v1+json")","digest":"\(config)","size":50},"layers":[\(descriptors.joined(separator: ","))]}
            """.utf8)
        let digest = Digest.sha256(of: bytes)
        _ = try await store.put(bytes, digest: digest, mediaType: MediaType.ociManifest)
        try await store.setTag(repository, try Tag(tag), TagRecord(digest: digest, mediaType: MediaType.ociManifest, confirmedAt: clock.function()))
        return digest
    }

    /// An image tagged `team/app:v1` at time 1,000, before any cache: plain LRU would evict it first. Returns its layer.
    func olderImage(_ store: BlobStore) async throws -> Digest {
        clock.set(1_000)
        let layer = try await blob(store, 1)
        try await manifest(store, app, "v1", layers: [layer], cache: false)
        return layer
    }

    @Test("a replaced cache's own blobs go first; an older, still tagged image and shared layers stay; the marks survive a restart")
    func replacedCacheFirst() async throws {
        var store = try open()
        let imageLayer = try await olderImage(store)
        clock.set(2_000)
        let shared = try await blob(store, 2), onlyOld = try await blob(store, 3)
        let old = try await manifest(store, cache, "bc", layers: [shared, onlyOld], cache: true)
        #expect(store.orphanedBytes == 0)
        clock.set(3_000)
        let onlyNew = try await blob(store, 4)
        let new = try await manifest(store, cache, "bc", layers: [shared, onlyNew], cache: true)
        #expect(store.isOrphan(old) && store.isOrphan(onlyOld))
        #expect(!store.isOrphan(shared) && !store.isOrphan(new) && !store.isOrphan(imageLayer))
        let orphaned = store.orphanedBytes
        #expect(orphaned > 10_000 && orphaned < 11_000, "the old manifest, its config and its own layer")

        let total = store.usage.bytes
        store.close()
        store = try open(maxBytes: total - 1)
        #expect(store.orphanedBytes == orphaned, "orphan marks come back from the index")
        await store.evictIfNeeded()
        #expect(store.record(for: onlyOld) == nil)
        for kept in [imageLayer, shared, onlyNew, new] { #expect(store.record(for: kept) != nil) }
    }

    @Test("a layer a child of a tagged index names is not orphaned when a cache that shared it is replaced")
    func layerOfATaggedIndexChild() async throws {
        let store = try open()
        let shared = try await blob(store, 5)
        // A multi-platform image: a tagged index whose child (stored by digest) names the shared layer.
        let child = Array("{\"schemaVersion\":2,\"mediaType\":\"\(MediaType.ociManifest)\",\"layers\":[{\"digest\":\"\(shared)\",\"size\":10000}]}".utf8)
        let childDigest = Digest.sha256(of: child)
        _ = try await store.put(child, digest: childDigest, mediaType: MediaType.ociManifest)
        await store.recordReferences(of: childDigest, [shared])
        let index = Array("{\"schemaVersion\":2,\"mediaType\":\"\(MediaType.ociIndex)\",\"manifests\":[{\"mediaType\":\"\(MediaType.ociManifest)\",\"digest\":\"\(childDigest)\",\"size\":\(child.count)}]}".utf8)
        let indexDigest = Digest.sha256(of: index)
        _ = try await store.put(index, digest: indexDigest, mediaType: MediaType.ociIndex)
        try await store.setTag(app, try Tag("v1"), TagRecord(digest: indexDigest, mediaType: MediaType.ociIndex, confirmedAt: 1_000))

        let onlyOld = try await blob(store, 6)
        let old = try await manifest(store, cache, "bc", layers: [shared, onlyOld], cache: true)
        try await manifest(store, cache, "bc", layers: [try await blob(store, 7)], cache: true)
        #expect(store.isOrphan(old) && store.isOrphan(onlyOld))
        #expect(!store.isOrphan(shared), "the tagged index's child still names it")
    }

    @Test("content a pending replication job needs is never evicted, orphan or not")
    func pinnedReplacedCache() async throws {
        let store = try open()
        let imageLayer = try await olderImage(store)
        clock.set(2_000)
        let oldLayer = try await blob(store, 3)
        let old = try await manifest(store, cache, "bc", layers: [oldLayer], cache: true)
        // The old cache was pushed here (by digest) and is not replicated yet.
        let pending = try await store.recordPush(repository: cache, tag: nil, manifest: old, mediaType: MediaType.ociManifest,
                                                 needs: [oldLayer], replicate: true)
        #expect(pending.job != nil)
        clock.set(3_000)
        let newLayer = try await blob(store, 4)
        try await manifest(store, cache, "bc", layers: [newLayer], cache: true)
        #expect(store.isOrphan(oldLayer))

        // Far over budget: everything unprotected may go, the pinned orphan may not.
        await store.evictIfNeeded(extra: store.usage.bytes)
        #expect(store.record(for: oldLayer) != nil)
        #expect(store.record(for: old) != nil)
        #expect(store.record(for: imageLayer) == nil)
    }
}
