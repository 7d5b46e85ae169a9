import HeapModule
import LayoverWire

/// The store's in-memory bookkeeping; mutated only under `BlobStore.state`'s lock.
///
/// Every figure a request needs is kept as a running total (stored, reserved and protected
/// bytes) and every eviction reads candidates in recency order from `records`' recency list: no
/// request costs time that grows with the number of stored, pinned or held blobs, and each
/// stored blob costs about 72 bytes of memory (see `BlobTable`).
struct StoreState: Sendable {
    /// Every stored blob, and those no pin or hold protects (the eviction candidates) in a
    /// recency list, least recently used first.
    var records: BlobTable
    var totalBytes: Int64
    /// Bytes promised to ingests in progress (announced sizes, and uploads as they grow).
    var reservedBytes: Int64 = 0
    var leases: [Digest: Int] = [:]
    /// Digest → how many pins and live holds protect it.
    private(set) var protection: [Digest: Int] = [:]
    /// Bytes of stored blobs that pins or holds protect.
    private(set) var protectedBytes: Int64 = 0
    /// Bytes of stored blobs marked orphans (left by a moved tag, named by no tagged manifest).
    private(set) var orphanedBytes: Int64 = 0
    /// What each pin owner (a replication job, a local tag) pins.
    private(set) var pins: [PinOwner: [Digest]] = [:]
    /// Push holds: a blob pushed to a repository, kept until that repository's manifest names it
    /// or the hold runs out.
    private(set) var holds: [HoldKey: Double] = [:]
    private var holdExpiry = Heap<HoldExpiry>()
    /// Blobs chosen for eviction whose file and row are still being removed: a new copy of one
    /// must wait, or it would lose its file or its row.
    var evicting: Set<Digest> = []
    /// Digests a commit is putting in place (file, row, then record): another copy of one waits,
    /// so that the two never interleave with an eviction of the first.
    var adopting: Set<Digest> = []
    /// Set by `closeCleanly`: no copy is put in place and nothing is evicted any more.
    var closing = false
    /// Opened after a crash, and `checkFilesAfterCrash` has not completed, or an eviction's
    /// delete failed since: the store must not be marked cleanly closed (the next open would
    /// trust rows and files that were never compared).
    var filesUnchecked = false
    /// Last accesses the index is to be told at the next flush.
    var dirtyRecency: [Digest: Double] = [:]
    /// A blob's last access goes to the index at most this often (seconds): each row written is a
    /// random page or two, so in a large store writing every read's time cost seconds of writes
    /// every flush. The order in memory is exact; only the order after a restart is this coarse.
    static let recencyPersistInterval: Double = 60
    /// Repository links known to the index, cached; at most `linkCacheLimit` (see `rememberLink`).
    private(set) var links: Set<LinkKey> = []
    /// A store of a million linked blobs must not keep a million links in memory (about 250
    /// bytes each): past this the cache starts again, and a link not cached costs one indexed read.
    static let linkCacheLimit = 65_536

    struct LinkKey: Hashable, Sendable {
        var repository: RepositoryKey
        var digest: Digest
    }

    private struct HoldExpiry: Comparable {
        var until: Double
        var key: HoldKey
        static func < (lhs: HoldExpiry, rhs: HoldExpiry) -> Bool { lhs.until < rhs.until }
        static func == (lhs: HoldExpiry, rhs: HoldExpiry) -> Bool { lhs.until == rhs.until && lhs.key == rhs.key }
    }

    /// `records` least recently used first.
    init(records: [BlobRecord]) {
        self.init(records: BlobTable(capacity: records.count), totalBytes: 0)
        for record in records where self.records[record.digest] == nil { add(record) }
    }

    /// A table already filled (least recently used first in its recency list) and its bytes.
    init(records: BlobTable, totalBytes: Int64) {
        self.records = records
        self.totalBytes = totalBytes
    }

    // MARK: Copies being put in place

    /// What `claim` found.
    enum Claim {
        /// The digest is now claimed for the caller's copy.
        case claimed
        /// Already stored: the caller's copy is not needed.
        case stored(BlobRecord)
        /// Being evicted, or another copy is being put in place: try again shortly.
        case busy
        /// The store is closing: the copy is not put in place.
        case closing
    }

    /// Claims `digest` for one copy being put in place (file, row, then record, which ends the
    /// claim), in the step that finds it neither stored, nor being evicted, nor claimed.
    mutating func claim(_ digest: Digest) -> Claim {
        guard !closing else { return .closing }
        guard !evicting.contains(digest), !adopting.contains(digest) else { return .busy }
        if let existing = records[digest] { return .stored(existing) }
        adopting.insert(digest)
        return .claimed
    }

    // MARK: Links

    mutating func rememberLink(_ key: LinkKey) {
        if links.count >= Self.linkCacheLimit, !links.contains(key) { links.removeAll(keepingCapacity: true) }
        links.insert(key)
    }

    mutating func forgetLink(_ key: LinkKey) { links.remove(key) }

    // MARK: Records

    mutating func acquire(_ digest: Digest, at time: Double) -> BlobRecord? {
        guard let due = records.touch(digest, at: time, persistingEvery: Self.recencyPersistInterval) else { return nil }
        if due { dirtyRecency[digest] = time }
        leases[digest, default: 0] += 1
        return records[digest]
    }

    mutating func releaseLease(_ digest: Digest) {
        guard let count = leases[digest] else { return }
        leases[digest] = count > 1 ? count - 1 : nil
    }

    mutating func touch(_ digest: Digest, at time: Double) {
        guard let due = records.touch(digest, at: time, persistingEvery: Self.recencyPersistInterval) else { return }
        if due { dirtyRecency[digest] = time }
    }

    /// Stores `record` in a slot of its own (tests, and states built from a list).
    mutating func add(_ record: BlobRecord) {
        remove(record.digest)
        records[record.digest] = record
        counted(record)
    }

    /// Stores `record`, absent, in the slot reserved for it (`records.reserveSlot()`), whose id
    /// its index row has.
    mutating func add(_ record: BlobRecord, row: Int64) {
        records.insert(record, at: row)
        counted(record)
    }

    private mutating func counted(_ record: BlobRecord) {
        totalBytes += record.size
        if protection[record.digest] != nil {
            protectedBytes += record.size
        } else {
            records.appendToRecency(record.digest)
        }
    }

    mutating func remove(_ digest: Digest) {
        let wasOrphan = records.isOrphan(digest)
        guard let old = records.removeValue(forKey: digest) else { return }
        if wasOrphan { orphanedBytes -= old.size }
        totalBytes -= old.size
        dirtyRecency[digest] = nil
        if protection[digest] != nil { protectedBytes -= old.size }
    }

    /// Least recently used blobs to evict so that `excess` bytes go, skipping open ones and
    /// `sparing`. Pinned and held blobs are not candidates at all.
    func victims(excess: Int64, sparing: Digest?) -> [BlobRecord] {
        var excess = excess
        var chosen: [BlobRecord] = []
        records.walkRecency { record in
            guard excess > 0 else { return false }
            if record.digest != sparing, leases[record.digest] == nil {
                chosen.append(record)
                excess -= record.size
            }
            return true
        }
        return chosen
    }

    /// Marks `digests` orphans (`orphan`) or no longer orphans; O(1) each. Orphans are evicted
    /// first, oldest orphaned first (see `BlobTable.setOrphan`); pins and holds still protect them.
    mutating func setOrphans(_ digests: [Digest], _ orphan: Bool) {
        for digest in digests {
            guard let size = records.setOrphan(digest, orphan) else { continue }
            orphanedBytes += orphan ? size : -size
        }
    }

    /// Whether eviction must leave `digest` alone.
    func isProtected(_ digest: Digest) -> Bool {
        leases[digest] != nil || protection[digest] != nil
    }

    // MARK: Pins and holds

    private mutating func protect(_ digest: Digest) {
        protection[digest, default: 0] += 1
        guard protection[digest] == 1, let record = records[digest] else { return }
        protectedBytes += record.size
        records.removeFromRecency(digest)
    }

    private mutating func unprotect(_ digest: Digest) {
        guard let count = protection[digest] else { return }
        if count > 1 {
            protection[digest] = count - 1
            return
        }
        protection[digest] = nil
        guard let record = records[digest] else { return }
        protectedBytes -= record.size
        // Released content was just pushed or replicated: as recent as anything.
        records.appendToRecency(digest)
    }

    /// `owner` pins `digests` (replacing what it pinned before).
    mutating func pin(_ owner: PinOwner, _ digests: [Digest]) {
        unpin(owner)
        let unique = Array(Set(digests))
        pins[owner] = unique
        for digest in unique { protect(digest) }
    }

    mutating func unpin(_ owner: PinOwner) {
        for digest in pins.removeValue(forKey: owner) ?? [] { unprotect(digest) }
    }

    /// Holds `key` until `until` (extending a hold that ends sooner).
    mutating func hold(_ key: HoldKey, until: Double) {
        if let current = holds[key] {
            guard until > current else { return }
        } else {
            protect(key.digest)
        }
        holds[key] = until
        holdExpiry.insert(HoldExpiry(until: until, key: key))
    }

    /// Ends the hold `key` (its repository's manifest arrived).
    mutating func releaseHold(_ key: HoldKey) {
        guard holds.removeValue(forKey: key) != nil else { return }
        unprotect(key.digest)
    }

    /// Ends the holds that ran out by `now`. Amortised O(log n) per hold.
    mutating func expireHolds(now: Double) {
        while let next = holdExpiry.min, next.until <= now {
            holdExpiry.removeMin()
            if holds[next.key] == next.until { releaseHold(next.key) }
        }
    }

    /// Whether `repository` holds `digest` for a manifest still to come.
    func isHeld(_ key: HoldKey) -> Bool { holds[key] != nil }
}

/// Who pins blobs against eviction.
public enum PinOwner: Hashable, Sendable {
    /// A replication job, until its manifest reached the upstream.
    case job(Int64)
    /// A tag pushed in `local` mode (never replicated), while it points at its manifest.
    case localTag(RepositoryKey, Tag)
}

/// A blob pushed to a repository and not yet named by that repository's manifest.
public struct HoldKey: Hashable, Sendable {
    public var repository: RepositoryKey
    public var digest: Digest

    public init(repository: RepositoryKey, digest: Digest) {
        self.repository = repository
        self.digest = digest
    }
}
