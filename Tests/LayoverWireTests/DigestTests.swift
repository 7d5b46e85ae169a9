import Testing
@testable import LayoverWire

@Suite("Digest")
struct DigestTests {
    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let abcSHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    static let abcSHA512 = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

    @Test func parsesSHA256() throws {
        let digest = try Digest(parsing: "sha256:\(Self.abcSHA256)")
        #expect(digest.algorithm == .sha256)
        #expect(digest.encoded == Self.abcSHA256)
        #expect(digest.description == "sha256:\(Self.abcSHA256)")
    }

    @Test func parsesSHA512() throws {
        let digest = try Digest(parsing: "sha512:\(Self.abcSHA512)")
        #expect(digest.algorithm == .sha512)
        #expect(digest.encoded == Self.abcSHA512)
        #expect(digest.description == "sha512:\(Self.abcSHA512)")
    }

    @Test func parsesASubstring() throws {
        let text = "@sha256:\(Self.abcSHA256)"
        let digest = try Digest(parsing: text.dropFirst())
        #expect(digest.encoded == Self.abcSHA256)
    }

    @Test("refuses malformed digests", arguments: [
        "",
        "sha256",
        "sha256:",
        "\(String(repeating: "a", count: 64))",
        "md5:\(String(repeating: "a", count: 32))",
        "SHA256:\(String(repeating: "a", count: 64))",
        "sha256:\(String(repeating: "a", count: 63))",
        "sha256:\(String(repeating: "a", count: 65))",
        "sha256:\(String(repeating: "A", count: 64))",
        "sha256:\(String(repeating: "g", count: 64))",
        "sha256: \(String(repeating: "a", count: 63))",
        "sha512:\(String(repeating: "a", count: 64))",
        "sha256:\(String(repeating: "a", count: 62))é",
    ])
    func refusesMalformed(_ text: String) {
        #expect(throws: WireError.invalidDigest(text)) { try Digest(parsing: text) }
    }

    @Test func buildsFromAlgorithmAndHex() throws {
        let digest = try Digest(algorithm: .sha256, hex: Self.emptySHA256)
        #expect(digest == Digest.sha256(of: [UInt8]()))
        #expect(throws: WireError.invalidDigest("sha512:\(Self.emptySHA256)")) {
            try Digest(algorithm: .sha512, hex: Self.emptySHA256)
        }
    }

    @Test func hexLengths() {
        #expect(Digest.Algorithm.sha256.hexLength == 64)
        #expect(Digest.Algorithm.sha512.hexLength == 128)
    }

    @Test func computesSHA256() {
        #expect(Digest.sha256(of: [UInt8]()).description == "sha256:\(Self.emptySHA256)")
        #expect(Digest.sha256(of: Array("abc".utf8)).description == "sha256:\(Self.abcSHA256)")
    }

    @Test func hasherMatchesOneShotForBothAlgorithms() {
        var sha256 = DigestHasher(.sha256)
        var sha512 = DigestHasher(.sha512)
        for part in ["a", "", "bc"] {
            Array(part.utf8).withUnsafeBytes { sha256.update($0) }
            Array(part.utf8).withUnsafeBytes { sha512.update($0) }
        }
        #expect(sha256.finalize().description == "sha256:\(Self.abcSHA256)")
        #expect(sha512.finalize().description == "sha512:\(Self.abcSHA512)")
    }

    @Test func finalizeDoesNotConsumeTheHasher() {
        var hasher = DigestHasher(.sha256)
        Array("ab".utf8).withUnsafeBytes { hasher.update($0) }
        _ = hasher.finalize()
        Array("c".utf8).withUnsafeBytes { hasher.update($0) }
        #expect(hasher.finalize().encoded == Self.abcSHA256)
    }

    @Test func equalityAndHashingFollowTheText() throws {
        let a = try Digest(parsing: "sha256:\(Self.abcSHA256)")
        let b = Digest(sha256Hex: Self.abcSHA256)
        let c = try Digest(parsing: "sha256:\(Self.emptySHA256)")
        #expect(a == b)
        #expect(a != c)
        #expect(Set([a, b, c]).count == 2)
    }

    @Test func ordersByDescription() throws {
        let low = try Digest(parsing: "sha256:" + String(repeating: "0", count: 64))
        let high = try Digest(parsing: "sha256:" + String(repeating: "f", count: 64))
        let other = try Digest(parsing: "sha512:" + String(repeating: "0", count: 128))
        #expect(low < high)
        #expect(!(high < low))
        #expect(high < other)
        #expect([other, high, low].sorted() == [low, high, other])
    }
}
