import Foundation
import LayoverWire
import Logging
import LayoverLocks

/// The content-addressed store: one verified file per digest, whatever upstream or repository it
/// came through, an SQLite index beside it, and LRU eviction under a byte budget.
///
/// Thread safety: every method may be called from any task. The in-memory state (records, leases,
/// reservations, recency) is behind one mutex held only for bookkeeping, never across I/O.
/// Durability: a blob is visible only after its digest was verified, its file fsynced and renamed
/// into place and its index row written.
public final class BlobStore: Sendable {
    /// Where the store's files live.
    public let layout: StoreLayout
    /// The byte budget eviction keeps to.
    public let budget: StoreBudget
    let index: BlobIndex
    /// Keeps other processes out while this store is open.
    private let lock: StoreLock
    let state: Locked<StoreState>
    /// References deleted here whose deletion has not reached the upstream, in memory (the pull
    /// path asks on every request); loaded from the index when the store opens.
    let tombstones = Locked<Set<Tombstone>>([])
    /// The BuildKit caches seen: what `layover caches` shows.
    public let caches = CacheLedger()
    let clock: @Sendable () -> Double
    let availableBytes: @Sendable (String) -> Int64?
    let logger: Logger
    /// When this instance opened the store (wall clock, seconds since 1970): a file older than
    /// that was not written by this run.
    let openedAt = Date().timeIntervalSince1970

    /// Opens (creating when needed) the store at `layout.root` from its index: stale ingest files
    /// are removed, the rows loaded. After a crash (no clean-shutdown mark) `filesUnchecked` is
    /// set: run `checkFilesAfterCrash` beside serving to adopt or quarantine files without rows
    /// and quarantine files of the wrong size.
    ///
    /// - Parameters:
    ///   - clock: seconds since 1970, injected so tests control recency.
    ///   - availableBytes: free bytes on the store's file system, injected so tests can fill the disk.
    ///   - synchronous: how durable an index commit is; `.full` unless the operator chose otherwise.
    public init(
        layout: StoreLayout,
        budget: StoreBudget,
        synchronous: IndexSynchronous = .full,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        availableBytes: @escaping @Sendable (String) -> Int64? = BlobStore.systemAvailableBytes,
        logger: Logger = Logger(label: "layover.store")
    ) throws(StoreError) {
        self.layout = layout
        self.budget = budget
        self.clock = clock
        self.availableBytes = availableBytes
        self.logger = logger
        try FileSystem.makeDirectories(layout.blobsDirectory)
        try FileSystem.makeDirectories(layout.ingestDirectory)
        lock = try StoreLock(path: layout.lockPath)
        let created = !FileManager.default.fileExists(atPath: layout.indexPath)
        index = try BlobIndex(path: layout.indexPath, synchronous: synchronous)
        let cleanlyClosed = Self.takeCleanShutdownMark(layout)
        var reconciled = try Self.reconcile(layout: layout, index: index, afterCleanShutdown: cleanlyClosed, logger: logger)
        reconciled.filesUnchecked = !cleanlyClosed && !created
        // Moved in, not copied: a second reference to the table would make its first change
        // (loading the pins just below) copy the whole slot array, without its spare slots.
        state = Locked(consume reconciled)
        try loadProtection()
        try loadOrphans()
        let deleted = try index.tombstones()
        tombstones.withLock { $0 = Set(deleted) }
    }

    /// Closes the index and gives up the store's lock, as a process exit would: another instance
    /// (in this process or another) may open the store, and reconciles it as after a crash. Its
    /// in-memory records stay readable; anything that writes the index fails afterwards.
    public func close() {
        do {
            try index.close()
        } catch {
            logger.warning("cannot close the store's index; it closes when the store is released", metadata: ["error": "\(error)"])
        }
        lock.release()
    }

    /// Free bytes on the file system holding `path`, as `statvfs` reports them to a non-root writer.
    public static func systemAvailableBytes(_ path: String) -> Int64? {
        FileSystem.availableBytes(at: path)
    }

    /// The record of a stored blob, without touching its recency. No I/O.
    public func record(for digest: Digest) -> BlobRecord? {
        state.withLock { $0.records[digest] }
    }

    /// Takes a lease on a stored blob (it will not be evicted until released) and marks it used.
    /// Nil when the blob is not stored.
    public func lease(_ digest: Digest) -> BlobLease? {
        let now = clock()
        guard let record = state.withLock({ $0.acquire(digest, at: now) }) else { return nil }
        return BlobLease(record: record, layout: layout) { [weak self] digest in
            self?.state.withLock { $0.releaseLease(digest) }
        }
    }

    /// Marks a blob as used now, for LRU.
    public func touch(_ digest: Digest) {
        let now = clock()
        state.withLock { $0.touch(digest, at: now) }
    }

    /// Starts writing new content. `expectedSize`, when known, is reserved against the budget
    /// up front (evicting first if needed) and checked against the disk's free space.
    public func beginIngest(algorithm: Digest.Algorithm = .sha256, expectedSize: Int64?) async throws(StoreError) -> IngestWriter {
        let reservation = max(0, expectedSize ?? 0)
        if let free = availableBytes(layout.ingestDirectory), free < reservation {
            await evictIfNeeded(extra: reservation - free)
            if let free = availableBytes(layout.ingestDirectory), free < reservation { throw .diskFull }
        }
        state.withLock { $0.reservedBytes += reservation }
        do {
            let writer = try IngestWriter(path: layout.ingestPath(id: UUID().uuidString), algorithm: algorithm,
                                          reservation: reservation, store: self)
            await evictIfNeeded()
            return writer
        } catch {
            release(reservation: reservation)
            throw error
        }
    }

    /// Stores small content held in memory (a manifest) after verifying it is `digest`.
    /// Content already stored as a plain blob gains the media type, so it can be served as a manifest.
    public func put(_ bytes: [UInt8], digest: Digest, mediaType: String?) async throws(StoreError) -> BlobRecord {
        if var existing = record(for: digest) {
            guard existing.mediaType == nil, let mediaType else { return existing }
            existing.mediaType = mediaType
            if let row = state.withLock({ $0.records.rowID(of: digest) }) {
                try await index.setMediaType(mediaType, row: row, digest: digest)
                state.withLock { $0.records[digest]?.mediaType = mediaType }
                return existing
            }
            // Evicted meanwhile: stored again below, with its media type.
        }
        let writer = try await beginIngest(algorithm: digest.algorithm, expectedSize: Int64(bytes.count))
        do {
            try writer.write(bytes)
        } catch {
            writer.abort()
            throw error
        }
        return try await writer.commit(expected: digest, mediaType: mediaType)
    }

    /// Reads a whole small blob (a manifest) into memory; nil when it is not stored.
    public func read(_ digest: Digest, maximumSize: Int = Manifest.maximumSize) -> [UInt8]? {
        guard let lease = lease(digest), lease.record.size <= maximumSize else { return nil }
        defer { lease.release() }
        guard let data = FileManager.default.contents(atPath: lease.path) else { return nil }
        return [UInt8](data)
    }

    /// Adds `bytes` to the reservations when pinned and reserved bytes stay within the budget
    /// (everything else can be evicted to make room), then evicts as needed.
    func reserve(_ bytes: Int64) async throws(StoreError) {
        let now = clock()
        let fits = state.withLock { state -> Bool in
            state.expireHolds(now: now)
            guard state.protectedBytes + state.reservedBytes + bytes <= budget.maxBytes else { return false }
            state.reservedBytes += bytes
            return true
        }
        guard fits else { throw .diskFull }
        await evictIfNeeded()
    }

    func release(reservation: Int64) {
        state.withLock { $0.reservedBytes -= reservation }
    }

    /// Bytes stored, files stored, bytes reserved by ingests in progress.
    public var usage: (bytes: Int64, files: Int, reserved: Int64) {
        state.withLock { ($0.totalBytes, $0.records.count, $0.reservedBytes) }
    }
}
