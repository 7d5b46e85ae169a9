import LayoverWire
import Testing
@testable import LayoverStore

/// The compact record table answers like the dictionary and linked list it replaced.
@Suite("Blob table")
struct BlobTableTests {
    static func digest(_ number: Int, sha512: Bool = false) -> Digest {
        let bytes = withUnsafeBytes(of: number) { Array($0) }
        if sha512 {
            var hasher = DigestHasher(.sha512)
            bytes.withUnsafeBytes { hasher.update($0) }
            return hasher.finalize()
        }
        return Digest.sha256(of: bytes)
    }

    @Test("random inserts, updates, removals and recency moves agree with a dictionary and a list")
    func agreesWithAModel() {
        var table = BlobTable()
        var model: [Digest: BlobRecord] = [:]
        var order: [Digest] = []
        var generator = SystemRandomNumberGenerator()
        // Few distinct digests, many operations: long probe runs, many deletions inside them.
        let digests = (0..<600).map { Self.digest($0, sha512: $0 % 7 == 0) }
        for step in 0..<40_000 {
            let digest = digests[Int.random(in: 0..<digests.count, using: &generator)]
            switch Int.random(in: 0..<5, using: &generator) {
            case 0, 1:
                let record = BlobRecord(digest: digest, size: Int64(step), mediaType: step % 3 == 0 ? "type/\(step % 5)" : nil,
                                        lastAccess: Double(step))
                table[digest] = record
                model[digest] = record
            case 2:
                #expect(table.removeValue(forKey: digest) == model.removeValue(forKey: digest))
                order.removeAll { $0 == digest }
            case 3:
                guard model[digest] != nil else { continue }
                table.appendToRecency(digest)
                order.removeAll { $0 == digest }
                order.append(digest)
            default:
                if step % 2 == 0, model[digest] != nil {
                    let touched = table.touch(digest, at: Double(step), persistingEvery: 0)
                    #expect(touched == true)
                    model[digest]!.lastAccess = Double(step)
                    if order.contains(digest) {
                        order.removeAll { $0 == digest }
                        order.append(digest)
                    }
                } else if order.contains(digest) {
                    table.moveToBackOfRecency(digest)
                    order.removeAll { $0 == digest }
                    order.append(digest)
                } else {
                    table.removeFromRecency(digest)
                }
            }
            #expect(table[digest] == model[digest])
            #expect(table.count == model.count)
        }
        for digest in digests { #expect(table[digest] == model[digest]) }
        #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.key, $0.value) }) == model)
        var walked: [Digest] = []
        table.walkRecency { record in
            walked.append(record.digest)
            #expect(record == model[record.digest])
            return true
        }
        #expect(walked == order)
    }

    @Test("a walk stops when asked; a removed blob leaves the recency list")
    func walkAndRemove() {
        var table = BlobTable(capacity: 4)
        let digests = (0..<5).map { Self.digest($0) }
        for (index, digest) in digests.enumerated() {
            table[digest] = BlobRecord(digest: digest, size: 1, mediaType: nil, lastAccess: Double(index))
            table.appendToRecency(digest)
        }
        table[digests[1]] = nil
        table.moveToBackOfRecency(digests[0])
        var walked: [Digest] = []
        table.walkRecency { walked.append($0.digest); return walked.count < 3 }
        #expect(walked == [digests[2], digests[3], digests[4]])
        #expect(table.count == 4)
    }

    @Test("a not-a-cache mark stays with its blob: replaced records keep it, a blob removed and stored again has none")
    func notCacheMarks() {
        var table = BlobTable(capacity: 4)
        let (marked, other) = (Self.digest(1), Self.digest(2))
        for digest in [marked, other] { table[digest] = BlobRecord(digest: digest, size: 1, mediaType: "m", lastAccess: 0) }
        table.markNotCache(marked)
        table.markNotCache(Self.digest(3))
        #expect(table.isNotCache(marked) && !table.isNotCache(other) && !table.isNotCache(Self.digest(3)))
        table[marked] = BlobRecord(digest: marked, size: 1, mediaType: "m", lastAccess: 5)
        #expect(table.isNotCache(marked))
        table[marked] = nil
        #expect(!table.isNotCache(marked))
        // The freed slot is taken by the next insert: it starts unmarked.
        table[Self.digest(4)] = BlobRecord(digest: Self.digest(4), size: 1, mediaType: "m", lastAccess: 0)
        table[marked] = BlobRecord(digest: marked, size: 1, mediaType: "m", lastAccess: 0)
        #expect(!table.isNotCache(Self.digest(4)) && !table.isNotCache(marked))
    }

    @Test("digest words round-trip through hex; only 64 lowercase hex digits are words")
    func words() {
        let digest = Self.digest(42)
        #expect(BlobTable.hex(BlobTable.words(digest)) == digest.encoded)
        func parsed(_ text: String) -> (UInt64, UInt64, UInt64, UInt64)? {
            var text = text
            return text.withUTF8 { BlobTable.words(hex: UnsafeRawBufferPointer($0)) }
        }
        #expect(parsed(digest.encoded).map { $0 == BlobTable.words(digest) } == true)
        #expect(parsed(digest.encoded.uppercased()) == nil)
        #expect(parsed(String(digest.encoded.dropLast())) == nil)
        #expect(parsed(String(digest.encoded.dropLast()) + "g") == nil)
    }

    @Test("rows loaded by their words are found by digest")
    func loadedByWords() {
        var table = BlobTable()
        let digest = Self.digest(7)
        let loaded1 = table.insertLoaded(sha256: BlobTable.words(digest), size: 12, mediaType: "application/x", lastAccess: 3, slot: 0)
        #expect(loaded1)
        #expect(table[digest] == BlobRecord(digest: digest, size: 12, mediaType: "application/x", lastAccess: 3))
        #expect(table[Self.digest(8)] == nil)
        table.listAllByLastAccess()
        var walked: [Digest] = []
        table.walkRecency { walked.append($0.digest); return true }
        #expect(walked == [digest])
    }

    @Test("rows go back to their slots; the gaps between them are the next slots reserved, then the end")
    func loadedIntoTheirSlots() {
        var table = BlobTable()
        let (a, b, c) = (Self.digest(1), Self.digest(2, sha512: true), Self.digest(3))
        let loaded2 = table.insertLoaded(sha256: BlobTable.words(a), size: 1, mediaType: nil, lastAccess: 5, slot: 2)
        #expect(loaded2)
        let loaded3 = table.insertLoaded(BlobRecord(digest: b, size: 2, mediaType: nil, lastAccess: 4), slot: 5)
        #expect(loaded3)
        let loaded4 = table.insertLoaded(sha256: BlobTable.words(a), size: 1, mediaType: nil, lastAccess: 6, slot: 7)
        #expect(!loaded4, "a digest twice: refused")
        let loaded5 = table.insertLoaded(sha256: BlobTable.words(c), size: 3, mediaType: nil, lastAccess: 6, slot: 5)
        #expect(!loaded5, "a slot twice: refused")
        table.listAllByLastAccess()
        #expect(table.rowID(of: a) == 2 && table.rowID(of: b) == 5 && table.rowID(of: c) == nil)
        #expect(table.count == 2)
        var walked: [Digest] = []
        table.walkRecency { walked.append($0.digest); return true }
        #expect(walked == [b, a])
        // The gaps (0, 1, 3, 4), latest first, then past the last row.
        let reserved = (0..<5).map { _ in table.reserveSlot() }
        #expect(Set(reserved.prefix(4)) == [0, 1, 3, 4] && reserved[4] == 6)
        #expect(table.count == 2 && table.values.count == 2, "a reserved slot holds no record")
        table.insert(BlobRecord(digest: c, size: 3, mediaType: nil, lastAccess: 7), at: reserved[1])
        #expect(table.rowID(of: c) == reserved[1] && table[c]?.size == 3)
        table.releaseSlot(reserved[0])
        #expect(table.reserveSlot() == reserved[0], "a slot given back is the next one reserved")
    }

    @Test("a removed blob's slot is the next new blob's")
    func removedSlotReused() {
        var table = BlobTable()
        let (a, b, c) = (Self.digest(1), Self.digest(2), Self.digest(3))
        table.insert(BlobRecord(digest: a, size: 1, mediaType: nil, lastAccess: 1), at: table.reserveSlot())
        table.insert(BlobRecord(digest: b, size: 2, mediaType: nil, lastAccess: 2), at: table.reserveSlot())
        #expect(table.rowID(of: a) == 0 && table.rowID(of: b) == 1)
        table[a] = nil
        table.insert(BlobRecord(digest: c, size: 3, mediaType: nil, lastAccess: 3), at: table.reserveSlot())
        #expect(table.rowID(of: c) == 0 && table[a] == nil && table[c]?.size == 3)
    }
}
