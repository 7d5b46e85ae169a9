import LayoverLocks
import LayoverWire

/// The BuildKit caches this node has seen, one entry per `<upstream>/<repo>:<tag>`: what each is,
/// when it was last pushed and imported, what its last import cost, and what its last rewrite
/// orphaned. What `layover caches` and the status page show, so operators see which caches earn
/// their disk.
///
/// Kept in memory since the process started, at most `limit` entries (the least recently active
/// one makes room). Thread safety: one lock, held for a dictionary step (a full ledger's one
/// scan for the least active entry happens only when a new cache arrives).
public final class CacheLedger: Sendable {
    /// One cache, as `/_layover/caches` answers it.
    public struct Entry: Codable, Sendable, Equatable {
        public var upstream: String
        public var repository: String
        /// The tag, or `@<digest>` for a cache imported by digest only.
        public var tag: String
        public var digest: String
        /// `manifest` (`image-manifest=true`) or `index`.
        public var form: String
        /// Declared bytes of its layers and cacheconfig.
        public var bytes: Int64
        public var layers: Int
        /// Seconds since 1970 of the last push here, and of the last import (a client reading the manifest).
        public var lastPush: Double?
        public var lastImport: Double?
        /// On the last import: layer bytes already stored here, and layer bytes that had to be fetched.
        public var importFromStoreBytes: Int64?
        public var importFetchedBytes: Int64?
        /// Bytes the last rewrite of the tag orphaned (the replaced cache's own blobs).
        public var orphanedByLastRewriteBytes: Int64?

        var lastActivity: Double { max(lastPush ?? 0, lastImport ?? 0) }
    }

    /// What a cache manifest is, for an entry.
    public struct Summary: Sendable, Equatable {
        public var digest: Digest
        public var form: Manifest.CacheForm
        public var bytes: Int64
        public var layers: Int

        /// The summary of `manifest`, nil when it is not a BuildKit cache.
        public init?(_ manifest: Manifest) {
            guard let form = manifest.cacheForm else { return nil }
            let layers = manifest.cacheLayers
            digest = manifest.digest
            self.form = form
            self.layers = layers.count
            let config = form == .manifest ? manifest.config : manifest.manifests.first { $0.mediaType == MediaType.buildkitCacheConfig }
            bytes = layers.reduce(0) { $0 + $1.size } + (config?.size ?? 0)
        }
    }

    private struct Key: Hashable {
        var repository: RepositoryKey
        var tag: String
    }

    private struct Ledger {
        var entries: [Key: Entry] = [:]
        /// Where each tag seen through the pull path points: an import by digest is credited to it.
        var tags: [RepositoryKey: [Digest: String]] = [:]
    }

    private let ledger = Locked(Ledger())
    let limit: Int

    public init(limit: Int = 4096) {
        self.limit = limit
    }

    /// `tag` of `repository` was answered as `digest` (so a following `GET` by digest is its import).
    public func tagResolved(_ repository: RepositoryKey, _ tag: String, _ digest: Digest) {
        ledger.withLock { ledger in
            var tags = ledger.tags[repository] ?? [:]
            if tags.count >= 64, tags[digest] == nil { tags.removeAll() }
            tags[digest] = tag
            ledger.tags[repository] = tags
        }
    }

    /// A client read cache manifest `summary` through `repository` at `time`; `fromStore` of its
    /// layer bytes were stored here already, `fetched` were not.
    public func imported(_ repository: RepositoryKey, _ summary: Summary, fromStore: Int64, fetched: Int64, at time: Double) {
        ledger.withLock { ledger in
            let tag = ledger.tags[repository]?[summary.digest] ?? "@\(summary.digest)"
            update(&ledger, Key(repository: repository, tag: tag), summary) { entry in
                entry.lastImport = time
                entry.importFromStoreBytes = fromStore
                entry.importFetchedBytes = fetched
            }
        }
    }

    /// Cache manifest `summary` was pushed here to `tag` at `time`.
    public func pushed(_ repository: RepositoryKey, _ tag: String, _ summary: Summary, at time: Double) {
        ledger.withLock { ledger in
            update(&ledger, Key(repository: repository, tag: tag), summary) { $0.lastPush = time }
        }
    }

    /// The last move of `tag` orphaned `bytes`; recorded when the tag is a known cache.
    func rewritten(_ repository: RepositoryKey, _ tag: String, orphaned bytes: Int64) {
        ledger.withLock { ledger in
            ledger.entries[Key(repository: repository, tag: tag)]?.orphanedByLastRewriteBytes = bytes
        }
    }

    /// Every cache, most recently active first.
    public var entries: [Entry] {
        ledger.withLock { Array($0.entries.values) }.sorted {
            ($0.lastActivity, $0.upstream, $0.repository, $0.tag) > ($1.lastActivity, $1.upstream, $1.repository, $1.tag)
        }
    }

    private func update(_ ledger: inout Ledger, _ key: Key, _ summary: Summary, _ change: (inout Entry) -> Void) {
        if ledger.entries[key] == nil, ledger.entries.count >= limit,
           let oldest = ledger.entries.min(by: { $0.value.lastActivity < $1.value.lastActivity })?.key {
            ledger.entries[oldest] = nil
        }
        var entry = ledger.entries[key] ?? Entry(upstream: key.repository.upstream, repository: key.repository.repository.value,
                                                 tag: key.tag, digest: "", form: "", bytes: 0, layers: 0)
        entry.digest = summary.digest.description
        entry.form = summary.form.rawValue
        entry.bytes = summary.bytes
        entry.layers = summary.layers
        change(&entry)
        ledger.entries[key] = entry
    }
}
