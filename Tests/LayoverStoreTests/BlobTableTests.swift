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

    @Test("rows loaded by their words are found by digest, and sizes by words")
    func loadedByWords() {
        var table = BlobTable()
        let digest = Self.digest(7)
        table.insertNew(sha256: BlobTable.words(digest), size: 12, mediaType: "application/x", lastAccess: 3)
        #expect(table[digest] == BlobRecord(digest: digest, size: 12, mediaType: "application/x", lastAccess: 3))
        #expect(table.size(sha256: BlobTable.words(digest)) == 12)
        #expect(table.size(sha256: BlobTable.words(Self.digest(8))) == nil)
        table.listAllByLastAccess()
        var walked: [Digest] = []
        table.walkRecency { walked.append($0.digest); return true }
        #expect(walked == [digest])
    }
}
