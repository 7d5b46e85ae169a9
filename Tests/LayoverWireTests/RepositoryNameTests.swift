import Testing
@testable import LayoverWire

@Suite("RepositoryName")
struct RepositoryNameTests {
    @Test("accepts names the grammar allows", arguments: [
        "a",
        "alpine",
        "library/alpine",
        "a0/b1/c2",
        "my.org/my_app",
        "a__b",
        "a-b",
        "a---b",
        "a.b.c",
        "0",
        "ghcr.io/owner/app",
        String(repeating: "a", count: 255),
        String(repeating: "ab/", count: 84) + "abc",
    ])
    func accepts(_ text: String) throws {
        let name = try RepositoryName(text)
        #expect(name.value == text)
        #expect(name.description == text)
    }

    @Test("refuses names the grammar forbids", arguments: [
        "",
        "Alpine",
        "library/Alpine",
        "a..b",
        "a___b",
        "a_-b",
        "a.-b",
        "a-.b",
        "-a",
        "a-",
        ".a",
        "_a",
        "a/",
        "/a",
        "a//b",
        "a b",
        "a:b",
        "a@b",
        "é",
        String(repeating: "a", count: 256),
    ])
    func refuses(_ text: String) {
        #expect(throws: WireError.invalidName(text)) { try RepositoryName(text) }
    }

    @Test func maximumLengthIs255Bytes() {
        #expect(RepositoryName.maximumLength == 255)
    }

    @Test func splitsComponents() throws {
        let name = try RepositoryName("ghcr.io/owner/app")
        #expect(name.components == ["ghcr.io", "owner", "app"])
        #expect(try RepositoryName("alpine").components == ["alpine"])
    }

    @Test("checks single components", arguments: [
        ("abc", true), ("a.b", true), ("a_b", true), ("a__b", true), ("a--b", true),
        ("", false), ("a/b", false), ("a..b", false), ("a.", false), ("UPPER", false),
    ])
    func validComponent(_ component: String, _ valid: Bool) {
        #expect(RepositoryName.isValidComponent(Substring(component)) == valid)
    }

    @Test func equalNamesAreHashedTogether() throws {
        let names: Set = [try RepositoryName("a/b"), try RepositoryName("a/b"), try RepositoryName("a/c")]
        #expect(names.count == 2)
    }
}
