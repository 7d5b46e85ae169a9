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
        "a__b/c--d.e",
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
        "a/-b",
        "a-/b",
        "a._b",
        "a/_b",
        "a/b.",
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

    /// The one-pass validator against the split-and-check one it replaced, on generated names.
    @Test func agreesWithTheComponentWiseCheck() {
        let alphabet = Array("ab0._-/A:")
        var state: UInt64 = 18
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var bits = state
            let text = String((0..<Int(bits % 9)).map { _ in
                bits = bits >> 4 | bits << 60
                return alphabet[Int(bits % UInt64(alphabet.count))]
            })
            let old = !text.isEmpty && text.split(separator: "/", omittingEmptySubsequences: false).allSatisfy(Self.componentIsValid)
            #expect(((try? RepositoryName(text)) != nil) == old, "name: \(text)")
        }
    }

    /// The component check as it was: separators collected, then compared.
    static func componentIsValid(_ component: Substring) -> Bool {
        var previousWasAlphanumeric = false
        var separator: [Character] = []
        for character in component {
            if character.isLowercase || character.isNumber {
                if !separator.isEmpty {
                    guard separator == ["."] || separator == ["_"] || separator == ["_", "_"] || separator.allSatisfy({ $0 == "-" })
                    else { return false }
                    separator = []
                }
                previousWasAlphanumeric = true
            } else if character == "." || character == "_" || character == "-" {
                guard previousWasAlphanumeric || !separator.isEmpty else { return false }
                separator.append(character)
                previousWasAlphanumeric = false
            } else {
                return false
            }
        }
        return previousWasAlphanumeric
    }

    @Test func equalNamesAreHashedTogether() throws {
        let names: Set = [try RepositoryName("a/b"), try RepositoryName("a/b"), try RepositoryName("a/c")]
        #expect(names.count == 2)
    }
}
