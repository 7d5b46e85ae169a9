import LayoverLocks
import LayoverMetrics
import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging

/// Warms the layers of a BuildKit cache manifest when a client resolves it (DESIGN.md §6).
///
/// Each layer goes through the pull path's `BlobFetcher`: one upstream download per digest
/// whatever comes first, the prefetch or a client (which then streams from the same growing
/// file), peer fill first in a fleet, the digest verified before the blob is visible. A
/// prefetch runs detached from the request that resolved the manifest, at most
/// `PrefetchPolicy.concurrency` layers at a time, and a manifest is prefetched once at a time.
///
/// Thread safety: the sets below are behind locks held for one insert or removal; nothing here
/// blocks the request path beyond that.
final class Prefetcher: Sendable {
    private let store: BlobStore
    private let fetcher: BlobFetcher
    /// Manifests whose prefetch runs now.
    private let running = Locked<Set<Digest>>([])
    /// Cache manifests already parsed, so that resolving a warm cache again reads and parses
    /// nothing. Bounded: cleared when full.
    private let parsed = Locked<[Digest: Known]>([:])
    /// Manifests read from the store to be classified: a resolve costs more than lookups only
    /// the first time a manifest is seen (while the store keeps it).
    let manifestReads = Locked(0)

    /// A parsed cache manifest, and its last import recorded with every layer stored.
    private struct Known {
        var manifest: Manifest
        var warmImport: (repository: RepositoryKey, at: Double)?
    }

    /// A warm cache resolved again through the same repository within this many seconds is not
    /// recorded again (the ledger's last import lags by at most this): BuildKit resolves a cache
    /// once per build, a load test thousands of times a second, and recording cost more than
    /// answering.
    static let warmImportInterval = 1.0
    private let clock: @Sendable () -> Double
    private let logger: Logger

    static let parsedMemoryLimit = 64
    /// Manifests up to this size are read and checked in the request on their first resolve;
    /// larger ones (an index of thousands of entries) in a task.
    static let inlineReadLimit: Int64 = 64 << 10

    init(store: BlobStore, fetcher: BlobFetcher, clock: @escaping @Sendable () -> Double, logger: Logger) {
        self.store = store
        self.clock = clock
        self.fetcher = fetcher
        self.logger = logger
    }

    /// A client read manifest `digest` (of `mediaType`) through `repository`: when it is a
    /// BuildKit cache, records the import in the store's cache ledger and starts fetching its
    /// missing layers in the background (when the upstream's policy allows). Returns at once.
    ///
    /// A cache manifest is read and parsed once (then kept, bounded); resolving it again, the
    /// common case of a warm cache, records the import and plans here, and starts a task only
    /// when layers are missing.
    func resolved(_ digest: Digest, mediaType: String, repository: RepositoryKey, client: RegistryClient) {
        let policy = client.upstream.prefetch
        guard Self.mayBeCache(mediaType) else { return }
        if store.isNotCache(digest) || running.withLock({ $0.contains(digest) }) { return }
        if let known = parsed.withLock({ $0[digest] }) {
            let now = clock()
            if let last = known.warmImport, last.repository == repository, now - last.at < Self.warmImportInterval { return }
            let plan = imported(known.manifest, repository: repository, policy: policy)
            guard !plan.layers.isEmpty else {
                parsed.withLock { $0[digest]?.warmImport = (repository, now) }
                return
            }
            start(digest) { [self] in await fetch(plan, of: digest, repository: repository, client: client, policy: policy) }
            return
        }
        // First sight of a small manifest: one read and a byte check here, so that an image (not
        // a cache) costs no task. A burst of GETs of thousands of new manifests started as many
        // tasks at once, each holding its bytes.
        var bytes: [UInt8]?
        if let size = store.record(for: digest)?.size, size <= Self.inlineReadLimit {
            manifestReads.withLock { $0 += 1 }
            guard let read = store.read(digest), Manifest.mayBeBuildKitCache(read) else {
                store.markNotCache(digest)
                return
            }
            bytes = read
        }
        start(digest) { [self, bytes] in
            guard let manifest = parse(digest, bytes: bytes) else { return }
            let plan = imported(manifest, repository: repository, policy: policy)
            await fetch(plan, of: digest, repository: repository, client: client, policy: policy)
        }
    }

    /// Whether a manifest of this media type can be a BuildKit cache (either form, OCI or Docker).
    static func mayBeCache(_ mediaType: String) -> Bool {
        mediaType == MediaType.ociManifest || mediaType == MediaType.ociIndex
            || mediaType == MediaType.dockerManifest || mediaType == MediaType.dockerManifestList
    }

    /// Runs `work` detached, once at a time per manifest.
    private func start(_ digest: Digest, _ work: @escaping @Sendable () async -> Void) {
        guard running.withLock({ $0.insert(digest).inserted }) else { return }
        Task.detached { [self] in
            await work()
            running.withLock { _ = $0.remove(digest) }
        }
    }

    /// The stored manifest `digest` when it is a BuildKit cache (kept for the next resolve);
    /// nil, and marked in the store as not a cache, when it is not.
    /// `bytes`, when the caller read them already.
    private func parse(_ digest: Digest, bytes: [UInt8]?) -> Manifest? {
        if bytes == nil { manifestReads.withLock { $0 += 1 } }
        guard let bytes = bytes ?? store.read(digest), Manifest.mayBeBuildKitCache(bytes),
              let manifest = try? Manifest(bytes: bytes, contentType: nil), manifest.cacheForm != nil else {
            store.markNotCache(digest)
            return nil
        }
        parsed.withLock { known in
            if known.count >= Self.parsedMemoryLimit { known.removeAll() }
            known[digest] = Known(manifest: manifest)
        }
        return manifest
    }

    /// Records the import of cache `manifest` in the ledger and plans the fetch of its missing layers.
    private func imported(_ manifest: Manifest, repository: RepositoryKey, policy: PrefetchPolicy) -> PrefetchPlan {
        let stored = manifest.cacheLayers.map { store.record(for: $0.digest) != nil }
        if let summary = CacheLedger.Summary(manifest) {
            let bytes = zip(manifest.cacheLayers, stored).reduce(into: (fromStore: Int64(0), fetched: Int64(0))) { sum, layer in
                if layer.1 { sum.fromStore += layer.0.size } else { sum.fetched += layer.0.size }
            }
            store.caches.imported(repository, summary, fromStore: bytes.fromStore, fetched: bytes.fetched, at: clock())
        }
        let plan = PrefetchPlan(manifest, policy: policy) { [store] in store.record(for: $0) != nil }
        Telemetry.prefetched(.capped, count: plan.capped.count)
        return plan
    }

    /// Fetches `plan`'s layers, at most `policy.concurrency` at a time.
    private func fetch(_ plan: PrefetchPlan, of digest: Digest, repository: RepositoryKey, client: RegistryClient,
                       policy: PrefetchPolicy) async {
        guard !plan.layers.isEmpty else { return }
        Telemetry.prefetchStarted()
        logger.info("prefetching a BuildKit cache", metadata: [
            "manifest": "\(digest)", "repository": "\(repository)", "layers": "\(plan.layers.count)",
            "bytes": "\(plan.bytes)", "capped": "\(plan.capped.count)"])
        await withTaskGroup(of: Void.self) { group in
            var next = plan.layers.makeIterator()
            for _ in 0..<policy.concurrency {
                guard let layer = next.next() else { break }
                group.addTask { await self.fetch(layer, repository: repository, client: client) }
            }
            while await group.next() != nil {
                guard let layer = next.next() else { continue }
                group.addTask { await self.fetch(layer, repository: repository, client: client) }
            }
        }
    }

    /// Fetches one layer through the shared fetcher and waits for its end. A download of it
    /// running through another repository is left alone: the layer is on its way either way.
    private func fetch(_ layer: Descriptor, repository: RepositoryKey, client: RegistryClient) async {
        guard store.record(for: layer.digest) == nil,
              case .joined(let fetch, _) = fetcher.join(layer.digest, repository: repository, client: client, confirmed: false) else { return }
        switch await fetch.waitForEnd() {
        case .success:
            Telemetry.prefetched(.fetched, bytes: layer.size)
        case .failure(let failure):
            Telemetry.prefetched(.failed)
            logger.notice("prefetch of a cache layer failed", metadata: [
                "digest": "\(layer.digest)", "repository": "\(repository)", "failure": "\(failure)"])
        }
    }
}
