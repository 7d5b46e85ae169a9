import Foundation
import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging
import Testing
@testable import LayoverPull

/// What resolving a manifest costs the prefetcher once it has classified it.
@Suite("Prefetcher")
final class PrefetcherTests {
    let root = "/tmp/layover-prefetcher-tests-\(UUID().uuidString)"
    let upstream = SilentListener()

    deinit {
        upstream.close()
        try? FileManager.default.removeItem(atPath: root)
    }

    @Test("ordinary image manifests are read once each, in the resolve itself, however many are in use (10,000 here)")
    func ordinaryManifestsAreReadOnce() async throws {
        let store = try BlobStore(layout: StoreLayout(root: root), budget: StoreBudget(maxBytes: 1 << 30), availableBytes: { _ in 1 << 40 })
        defer { store.close() }
        let repository = RepositoryKey(upstream: "up", repository: try RepositoryName("team/app"))
        let items = (0..<10_000).map { number in
            BlobStore.BulkItem(bytes: Array(Self.imageManifest(number).utf8), mediaType: MediaType.ociManifest, repository: repository)
        }
        let digests = try await store.putMany(items).map(\.digest)
        let client = RegistryClient(upstream: UpstreamConfiguration(name: "up", url: "http://127.0.0.1:\(upstream.port)"),
                                    http: BlobFetcherTests.http, retryPolicy: RetryPolicy(attempts: 1))
        let prefetcher = Prefetcher(store: store, fetcher: BlobFetcher(store: store, logger: Logger(label: "test")),
                                    clock: { Date().timeIntervalSince1970 }, logger: Logger(label: "test"))

        for digest in digests { prefetcher.resolved(digest, mediaType: MediaType.ociManifest, repository: repository, client: client) }
        // Each first resolve of a small manifest reads and classifies it in the call: no task.
        #expect(digests.filter(store.isNotCache).count == digests.count)
        #expect(prefetcher.manifestReads.withLock { $0 } == digests.count)

        for _ in 0..<2 {
            for digest in digests { prefetcher.resolved(digest, mediaType: MediaType.ociManifest, repository: repository, client: client) }
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(prefetcher.manifestReads.withLock { $0 } == digests.count, "resolving them again read them again")
    }

    /// An OCI image manifest unique to `number`.
    static func imageManifest(_ number: Int) -> String {
        let digest = Digest.sha256(of: Array("layer \(number)".utf8))
        return #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(digest)","size":2},"layers":[]}"#
    }
}
