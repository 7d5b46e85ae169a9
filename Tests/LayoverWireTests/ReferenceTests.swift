import Testing
@testable import LayoverWire

@Suite("Tag")
struct TagTests {
    @Test("accepts tags the grammar allows", arguments: [
        "latest", "v1.2.3", "_private", "A", "3.20", "build-42_x.y", String(repeating: "a", count: 128),
        "a" + String(repeating: "-", count: 127),
    ])
    func accepts(_ text: String) throws {
        let tag = try Tag(text)
        #expect(tag.value == text)
        #expect(tag.description == text)
    }

    @Test("refuses tags the grammar forbids", arguments: [
        "", ".hidden", "-dash", "a/b", "a:b", "a@b", "with space", "é", "a+b",
        String(repeating: "a", count: 129),
    ])
    func refuses(_ text: String) {
        #expect(throws: WireError.invalidTag(text)) { try Tag(text) }
    }
}

@Suite("Reference")
struct ReferenceTests {
    static let hex = String(repeating: "ab", count: 32)

    @Test func aTextWithoutColonIsATag() throws {
        let reference = try Reference(parsing: "3.20")
        #expect(reference == .tag(try Tag("3.20")))
        #expect(reference.description == "3.20")
    }

    @Test func aTextWithColonIsADigest() throws {
        let reference = try Reference(parsing: "sha256:\(Self.hex)")
        #expect(reference == .digest(try Digest(parsing: "sha256:\(Self.hex)")))
        #expect(reference.description == "sha256:\(Self.hex)")
    }

    @Test func aBadDigestIsNotReadAsATag() {
        #expect(throws: WireError.invalidDigest("latest:v1")) { try Reference(parsing: "latest:v1") }
        #expect(throws: WireError.invalidDigest("sha256:abc")) { try Reference(parsing: "sha256:abc") }
    }

    @Test func aBadTagIsRefused() {
        #expect(throws: WireError.invalidTag("-x")) { try Reference(parsing: "-x") }
        #expect(throws: WireError.invalidTag("")) { try Reference(parsing: "") }
    }

    @Test func tagsAndDigestsNeverCompareEqual() throws {
        let set: Set<Reference> = [try Reference(parsing: "latest"), try Reference(parsing: "latest"),
                                   try Reference(parsing: "sha256:\(Self.hex)")]
        #expect(set.count == 2)
    }
}
