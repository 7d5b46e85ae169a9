import LayoverWire

/// Every stored blob's record, and the least-recently-used order of those eviction may take,
/// in about 80 bytes a blob with no allocation per blob: a million blobs cost about 70 MB, where
/// a dictionary of `BlobRecord`s keyed by `Digest` (a heap string each) and a linked list of
/// digests beside it cost about 450.
///
/// Each blob is a fixed-size slot holding its digest as four words (a SHA-512 digest's full text
/// is kept aside), its size, last access, interned media type and its recency links; an
/// open-addressing table (linear probing, keys hashed with the process's random seed) maps
/// digests to slots. Lookups, insertions, removals and recency moves are O(1); nothing walks the
/// table but iteration and `walkRecency`.
///
/// Read and written like the dictionary it replaces: `table[digest]` gets, sets or (with nil)
/// removes a record. Not thread-safe: `StoreState` is its only user, under the store's lock.
///
/// A blob's slot is also its row's id in the index (`rowID(of:)`): a new blob's row goes where a
/// removed blob's was, or at the end, never at a random place among a million rows keyed by
/// digest. A slot is reserved (`reserveSlot`) before its row is written and filled
/// (`insert(_:at:)`) once the row is durable; rows read at startup go back to their slots
/// (`insertLoaded`).
struct BlobTable: Sendable, Sequence {
    private struct Slot: Sendable {
        var words: (UInt64, UInt64, UInt64, UInt64)
        /// -1: a free slot (then `next` links the free list); -2: reserved for a blob being stored.
        var size: Int64
        var lastAccess: Double
        /// The last access the index has (or has been sent): see `touch`.
        var persistedAccess: Double
        /// Toward the least and the most recently used; `none` at either end, `unlisted` when
        /// not in the recency list.
        var previous: Int32
        var next: Int32
        /// 0 for none, else 1 + the index in `mediaTypeNames`.
        var mediaType: UInt32
        var isSHA512: Bool
        /// Left by a tag that moved and named by no tagged manifest: listed in the orphan
        /// segment at the front of the recency list (see `setOrphan`).
        var isOrphan = false
        /// A manifest read and found not to be a BuildKit cache (see `markNotCache`); in the
        /// slot's padding, so it costs no memory.
        var isNotCache = false
    }

    private static let none: Int32 = -1
    private static let unlisted: Int32 = -2
    private static let freeSize: Int64 = -1
    private static let reservedSize: Int64 = -2

    private var slots: [Slot] = []
    private var freeSlot: Int32 = none
    /// Open addressing: slot indices, `none` where empty; at most half full.
    private var buckets: [Int32] = Array(repeating: none, count: 16)
    private var mediaTypeNames: [String] = []
    private var mediaTypeIndex: [String: UInt32] = [:]
    /// The full digests of SHA-512 slots (the words hold only their first half).
    private var sha512Digests: [Int32: Digest] = [:]
    private var first: Int32 = none
    private var last: Int32 = none
    /// The last slot of the orphan segment (the recency list's prefix of orphans, oldest
    /// orphaned first); `none` when no listed blob is an orphan.
    private var lastOrphan: Int32 = none
    private(set) var count = 0

    init() {}

    /// Room for `capacity` records without growing, and for `slots` slots (at least
    /// `capacity`) before the slot array is copied into a larger one.
    ///
    /// Reserved slots cost address space, not memory, until used; growing the array copies it
    /// whole, old and new both resident meanwhile (at a million blobs about 48 MiB more, for a
    /// moment).
    init(capacity: Int, slots slotCapacity: Int = 0) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        buckets = Array(repeating: Self.none, count: size)
        slots.reserveCapacity(Swift.max(capacity, slotCapacity))
    }

    /// Slots the table holds before its slot array is copied into a larger one.
    var slotCapacity: Int { slots.capacity }

    // MARK: Records

    /// A stored blob's record; set to store or replace one (its recency place is kept), nil to
    /// remove it (from the recency list too).
    subscript(digest: Digest) -> BlobRecord? {
        get {
            guard let slot = find(digest) else { return nil }
            return record(at: slot, digest: digest)
        }
        set {
            guard let newValue else {
                remove(digest)
                return
            }
            let mediaType = intern(newValue.mediaType)
            if let slot = find(digest) {
                slots[Int(slot)].size = newValue.size
                slots[Int(slot)].lastAccess = newValue.lastAccess
                slots[Int(slot)].persistedAccess = newValue.lastAccess
                slots[Int(slot)].mediaType = mediaType
            } else {
                insert(newValue, mediaType: mediaType)
            }
        }
    }

    /// Adds a SHA-256 blob read at startup (its row's id is `slot`), unlisted. Rows come in id
    /// order. False, and nothing added, when the digest is already here (a row left by an
    /// eviction whose delete a crash interrupted, its blob stored again elsewhere) or the slot
    /// is taken: that row is to be dropped.
    mutating func insertLoaded(sha256 words: (UInt64, UInt64, UInt64, UInt64), size: Int64, mediaType: String?,
                               lastAccess: Double, slot: Int64) -> Bool {
        guard find(words, isSHA512: false) == nil, let slot = claimLoaded(slot) else { return false }
        insert(words: words, digest: nil, size: size, mediaType: intern(mediaType), lastAccess: lastAccess, at: slot)
        return true
    }

    /// `insertLoaded` for a digest of another form than SHA-256's.
    mutating func insertLoaded(_ record: BlobRecord, slot: Int64) -> Bool {
        guard find(record.digest) == nil, let slot = claimLoaded(slot) else { return false }
        insert(record, mediaType: intern(record.mediaType), at: slot)
        return true
    }

    /// Makes `slot` (past every slot so far) the next one, the slots skipped free.
    private mutating func claimLoaded(_ slot: Int64) -> Int32? {
        guard slot >= Int64(slots.count), slot < Int64(Int32.max) else { return nil }
        while Int64(slots.count) < slot {
            slots.append(Self.freeSlotEntry(next: freeSlot))
            freeSlot = Int32(slots.count - 1)
        }
        slots.append(Self.freeSlotEntry(next: Self.none))
        return Int32(slot)
    }

    // MARK: Row ids

    /// The slot, and index row id, of a stored blob.
    func rowID(of digest: Digest) -> Int64? {
        find(digest).map(Int64.init)
    }

    /// A slot for a blob about to be stored: its row's id. Filled by `insert(_:at:)`, or given
    /// back by `releaseSlot`.
    mutating func reserveSlot() -> Int64 {
        let slot: Int32
        if freeSlot != Self.none {
            slot = freeSlot
            freeSlot = slots[Int(slot)].next
        } else {
            slot = Int32(slots.count)
            slots.append(Self.freeSlotEntry(next: Self.none))
        }
        slots[Int(slot)].size = Self.reservedSize
        return Int64(slot)
    }

    /// Gives back a slot reserved and not filled.
    mutating func releaseSlot(_ slot: Int64) {
        guard slots.indices.contains(Int(slot)), slots[Int(slot)].size == Self.reservedSize else { return }
        slots[Int(slot)] = Self.freeSlotEntry(next: freeSlot)
        freeSlot = Int32(slot)
    }

    /// Stores a blob absent from the table in the slot reserved for it.
    mutating func insert(_ record: BlobRecord, at slot: Int64) {
        precondition(slots[Int(slot)].size == Self.reservedSize && find(record.digest) == nil, "a blob goes in a slot reserved for it")
        insert(record, mediaType: intern(record.mediaType), at: Int32(slot))
    }

    private static func freeSlotEntry(next: Int32) -> Slot {
        Slot(words: (0, 0, 0, 0), size: freeSize, lastAccess: 0, persistedAccess: 0, previous: unlisted, next: next,
             mediaType: 0, isSHA512: false)
    }

    /// Removes `digest`'s record; returns it.
    @discardableResult
    mutating func removeValue(forKey digest: Digest) -> BlobRecord? {
        guard let slot = find(digest) else { return nil }
        let record = record(at: slot, digest: digest)
        remove(digest)
        return record
    }

    /// Every record, in no particular order.
    var values: [BlobRecord] { map(\.value) }

    func makeIterator() -> AnyIterator<(key: Digest, value: BlobRecord)> {
        var index = 0
        return AnyIterator {
            while index < slots.count {
                defer { index += 1 }
                if slots[index].size >= 0 {
                    let digest = digest(at: Int32(index))
                    return (digest, record(at: Int32(index), digest: digest))
                }
            }
            return nil
        }
    }

    /// Sets a stored blob's last access and, if it is listed, moves it to the most recently used
    /// end; nil when it is not stored. One lookup: the path of every hit.
    ///
    /// Returns whether the index should be told: when the last access it has is `interval` or
    /// more older than `time` (then that is taken as told). The order in memory is always exact;
    /// what the index keeps, for the order after a restart, is at most `interval` behind, and
    /// each blob costs at most one row write per `interval` however often it is read.
    mutating func touch(_ digest: Digest, at time: Double, persistingEvery interval: Double) -> Bool? {
        guard let slot = find(digest) else { return nil }
        slots[Int(slot)].lastAccess = time
        // An orphan stays in the orphan segment, read or not, until a tag names it again.
        if slots[Int(slot)].previous != Self.unlisted, last != slot, !slots[Int(slot)].isOrphan {
            unlink(slot)
            link(atBack: slot)
        }
        guard time - slots[Int(slot)].persistedAccess >= interval else { return false }
        slots[Int(slot)].persistedAccess = time
        return true
    }

    // MARK: Recency

    /// Puts `digest` (stored) at the most recently used end, listed or not.
    mutating func appendToRecency(_ digest: Digest) {
        guard let slot = find(digest) else { return }
        unlink(slot)
        relink(slot)
    }

    /// Moves `digest` to the most recently used end if it is listed.
    mutating func moveToBackOfRecency(_ digest: Digest) {
        guard let slot = find(digest), slots[Int(slot)].previous != Self.unlisted, last != slot, !slots[Int(slot)].isOrphan else { return }
        unlink(slot)
        link(atBack: slot)
    }

    mutating func removeFromRecency(_ digest: Digest) {
        guard let slot = find(digest) else { return }
        unlink(slot)
    }

    /// Lists every stored blob, least recently used (by last access) first, in place of the
    /// list there was: for a table just loaded, before anything is protected.
    mutating func listAllByLastAccess() {
        var order = slots.indices.filter { slots[$0].size >= 0 }
        order.sort { (slots[$0].lastAccess, $0) < (slots[$1].lastAccess, $1) }
        first = Self.none
        last = Self.none
        lastOrphan = Self.none
        // Free slots keep `next`: it links the free list.
        for index in order {
            slots[index].previous = Self.unlisted
            slots[index].next = Self.unlisted
        }
        for index in order { relink(Int32(index)) }
    }

    // MARK: Orphans

    /// Marks `digest` an orphan (or no longer one). A listed orphan moves to the end of the orphan
    /// segment, so eviction, which walks the list from the front, takes orphans first, oldest
    /// orphaned first, then the rest least recently used first; one no longer an orphan moves to
    /// the most recently used end. An unlisted (protected) blob keeps the mark for when it is
    /// listed again. O(1). Returns the blob's size when the mark changed, else nil.
    mutating func setOrphan(_ digest: Digest, _ orphan: Bool) -> Int64? {
        guard let slot = find(digest), slots[Int(slot)].isOrphan != orphan else { return nil }
        let listed = slots[Int(slot)].previous != Self.unlisted
        if listed { unlink(slot) }
        slots[Int(slot)].isOrphan = orphan
        if listed { relink(slot) }
        return slots[Int(slot)].size
    }

    /// Whether `digest` is stored and marked an orphan.
    func isOrphan(_ digest: Digest) -> Bool {
        find(digest).map { slots[Int($0)].isOrphan } ?? false
    }

    /// Up to `limit` records from slot `start` on, in slot order, and the slot to go on from (nil
    /// at the end): a walk over the whole table in steps, the table free to change between them
    /// (a blob stored meanwhile may be missed, none is given twice unless removed and stored again).
    func records(fromSlot start: Int, limit: Int) -> (records: [BlobRecord], next: Int?) {
        var found: [BlobRecord] = []
        var index = start
        while index < slots.count, found.count < limit {
            if slots[index].size >= 0 { found.append(record(at: Int32(index), digest: digest(at: Int32(index)))) }
            index += 1
        }
        return (found, index < slots.count ? index : nil)
    }

    /// Marks a stored manifest as read and found not to be a BuildKit cache, so that resolving it
    /// again reads and parses nothing, however many manifests are in use. O(1).
    mutating func markNotCache(_ digest: Digest) {
        guard let slot = find(digest) else { return }
        slots[Int(slot)].isNotCache = true
    }

    /// Whether `digest` is stored and marked by `markNotCache`.
    func isNotCache(_ digest: Digest) -> Bool {
        find(digest).map { slots[Int($0)].isNotCache } ?? false
    }

    /// Listed records from least to most recently used, as long as `body` returns true.
    func walkRecency(_ body: (BlobRecord) -> Bool) {
        var cursor = first
        while cursor != Self.none {
            let slot = slots[Int(cursor)]
            guard body(record(at: cursor, digest: digest(at: cursor))) else { return }
            cursor = slot.next
        }
    }

    // MARK: Slots

    private func record(at slot: Int32, digest: Digest) -> BlobRecord {
        let entry = slots[Int(slot)]
        return BlobRecord(digest: digest, size: entry.size,
                          mediaType: entry.mediaType == 0 ? nil : mediaTypeNames[Int(entry.mediaType) - 1],
                          lastAccess: entry.lastAccess)
    }

    private func digest(at slot: Int32) -> Digest {
        let entry = slots[Int(slot)]
        if entry.isSHA512 { return sha512Digests[slot]! }
        return Digest(sha256Hex: Self.hex(entry.words))
    }

    private mutating func intern(_ mediaType: String?) -> UInt32 {
        guard let mediaType else { return 0 }
        if let index = mediaTypeIndex[mediaType] { return index }
        mediaTypeNames.append(mediaType)
        let index = UInt32(mediaTypeNames.count)
        mediaTypeIndex[mediaType] = index
        return index
    }

    private mutating func insert(_ record: BlobRecord, mediaType: UInt32, at slot: Int32? = nil) {
        insert(words: Self.words(record.digest), digest: record.digest, size: record.size, mediaType: mediaType,
               lastAccess: record.lastAccess, at: slot ?? Int32(reserveSlot()))
    }

    /// Fills `slot` (reserved, or just claimed at load) and hashes it. `digest` is needed only
    /// for SHA-512 (nil: SHA-256).
    private mutating func insert(words: (UInt64, UInt64, UInt64, UInt64), digest: Digest?, size: Int64, mediaType: UInt32,
                                 lastAccess: Double, at slot: Int32) {
        if (count + 1) * 2 > buckets.count { grow() }
        let isSHA512 = digest?.algorithm == .sha512
        let entry = Slot(words: words, size: size, lastAccess: lastAccess, persistedAccess: lastAccess,
                         previous: Self.unlisted, next: Self.unlisted, mediaType: mediaType, isSHA512: isSHA512)
        slots[Int(slot)] = entry
        if isSHA512, let digest { sha512Digests[slot] = digest }
        var bucket = home(entry.words)
        while buckets[bucket] != Self.none { bucket = (bucket + 1) & (buckets.count - 1) }
        buckets[bucket] = slot
        count += 1
    }

    private mutating func remove(_ digest: Digest) {
        let words = Self.words(digest)
        let isSHA512 = digest.algorithm == .sha512
        let mask = buckets.count - 1
        var bucket = home(words)
        while true {
            let slot = buckets[bucket]
            if slot == Self.none { return }
            if slots[Int(slot)].words == words, slots[Int(slot)].isSHA512 == isSHA512 { break }
            bucket = (bucket + 1) & mask
        }
        let slot = buckets[bucket]
        unlink(slot)
        // Backward-shift deletion: every later entry of the run that may move into the hole
        // does, so that no lookup stops early at it.
        var hole = bucket
        var probe = (hole + 1) & mask
        while buckets[probe] != Self.none {
            let wanted = home(slots[Int(buckets[probe])].words)
            // The entry at `probe` may fill the hole unless its home lies cyclically in (hole, probe].
            let homeAfterHole = (wanted - hole - 1) & mask
            let probeAfterHole = (probe - hole - 1) & mask
            if homeAfterHole > probeAfterHole {
                buckets[hole] = buckets[probe]
                hole = probe
            }
            probe = (probe + 1) & mask
        }
        buckets[hole] = Self.none
        slots[Int(slot)] = Self.freeSlotEntry(next: freeSlot)
        freeSlot = slot
        if isSHA512 { sha512Digests[slot] = nil }
        count -= 1
    }

    private func find(_ digest: Digest) -> Int32? {
        find(Self.words(digest), isSHA512: digest.algorithm == .sha512)
    }

    private func find(_ words: (UInt64, UInt64, UInt64, UInt64), isSHA512: Bool) -> Int32? {
        var bucket = home(words)
        while true {
            let slot = buckets[bucket]
            if slot == Self.none { return nil }
            let entry = slots[Int(slot)]
            if entry.words == words, entry.isSHA512 == isSHA512 { return slot }
            bucket = (bucket + 1) & (buckets.count - 1)
        }
    }

    private mutating func grow() {
        buckets = Array(repeating: Self.none, count: buckets.count * 2)
        for index in slots.indices where slots[index].size >= 0 {
            var bucket = home(slots[index].words)
            while buckets[bucket] != Self.none { bucket = (bucket + 1) & (buckets.count - 1) }
            buckets[bucket] = Int32(index)
        }
    }

    private func home(_ words: (UInt64, UInt64, UInt64, UInt64)) -> Int {
        // Seeded per process: content cannot be chosen to pile digests into one run.
        var hasher = Hasher()
        hasher.combine(words.0)
        hasher.combine(words.1)
        return hasher.finalize() & (buckets.count - 1)
    }

    private mutating func unlink(_ slot: Int32) {
        let entry = slots[Int(slot)]
        guard entry.previous != Self.unlisted else { return }
        // Orphans are a prefix: the one before the last orphan is an orphan too (or none).
        if slot == lastOrphan { lastOrphan = entry.previous }
        if entry.previous == Self.none { first = entry.next } else { slots[Int(entry.previous)].next = entry.next }
        if entry.next == Self.none { last = entry.previous } else { slots[Int(entry.next)].previous = entry.previous }
        slots[Int(slot)].previous = Self.unlisted
        slots[Int(slot)].next = Self.unlisted
    }

    /// Lists an unlisted slot where it belongs: an orphan at the end of the orphan segment,
    /// anything else at the most recently used end.
    private mutating func relink(_ slot: Int32) {
        guard slots[Int(slot)].isOrphan else { return link(atBack: slot) }
        let next = lastOrphan == Self.none ? first : slots[Int(lastOrphan)].next
        slots[Int(slot)].previous = lastOrphan
        slots[Int(slot)].next = next
        if lastOrphan == Self.none { first = slot } else { slots[Int(lastOrphan)].next = slot }
        if next == Self.none { last = slot } else { slots[Int(next)].previous = slot }
        lastOrphan = slot
    }

    private mutating func link(atBack slot: Int32) {
        slots[Int(slot)].previous = last
        slots[Int(slot)].next = Self.none
        if last == Self.none { first = slot } else { slots[Int(last)].next = slot }
        last = slot
    }

    // MARK: Digest words

    /// The first 64 hex digits of a digest (all of a SHA-256 one) as four words.
    static func words(_ digest: Digest) -> (UInt64, UInt64, UInt64, UInt64) {
        var encoded = digest.encoded
        return encoded.withUTF8 { hex in words(trustedHex: UnsafeRawBufferPointer(hex)) }
    }

    /// The four words of 64 lowercase hex digits; nil for anything else.
    static func words(hex: UnsafeRawBufferPointer) -> (UInt64, UInt64, UInt64, UInt64)? {
        guard hex.count == 64, hex.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        return words(trustedHex: hex)
    }

    /// At least 64 lowercase hex digits (validated by the caller) as four words.
    private static func words(trustedHex hex: UnsafeRawBufferPointer) -> (UInt64, UInt64, UInt64, UInt64) {
        func word(_ start: Int) -> UInt64 {
            var value: UInt64 = 0
            for offset in start..<(start + 16) {
                // '0'...'9' → 0...9, 'a'...'f' → 10...15, without a branch.
                let character = UInt64(hex[offset])
                value = value << 4 | ((character & 0xf) + 9 * (character >> 6))
            }
            return value
        }
        return (word(0), word(16), word(32), word(48))
    }

    static func hex(_ words: (UInt64, UInt64, UInt64, UInt64)) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 64) { buffer in
            for (index, word) in [words.0, words.1, words.2, words.3].enumerated() {
                for nibble in 0..<16 {
                    buffer[index * 16 + nibble] = digits[Int((word >> UInt64(60 - nibble * 4)) & 0xf)]
                }
            }
            return 64
        }
    }
}
