import Testing
@testable import LayoverAuth

@Suite("RepositoryPattern")
struct RepositoryPatternTests {
    @Test(arguments: [
        ("ghcr.io/org/*", "ghcr.io/org/app", true),
        ("ghcr.io/org/*", "ghcr.io/org/team/app", true),
        ("ghcr.io/org/*", "ghcr.io/other/app", false),
        ("ghcr.io/org/*", "ghcr.io/org", false),
        ("*", "docker.io/library/alpine", true),
        ("docker.io/library/alpine", "docker.io/library/alpine", true),
        ("docker.io/library/alpine", "docker.io/library/alpine2", false),
        ("docker.io/library/alp?ne", "docker.io/library/alpine", true),
        ("*/cache", "up/team/cache", true),
        ("*/cache", "up/team/cache/x", false),
        ("up/*/app*", "up/a/b/app-x", true),
        ("", "", true),
        ("", "a", false),
        ("**", "", true),
        ("Up/*", "up/x", false),
    ])
    func matches(pattern: String, name: String, expected: Bool) {
        #expect(RepositoryPattern(pattern).matches(name) == expected)
    }

    @Test func manyStarsStayLinear() {
        let pattern = RepositoryPattern(String(repeating: "*a", count: 30) + "b")
        let name = String(repeating: "a", count: 200)
        let clock = ContinuousClock()
        let elapsed = clock.measure { #expect(!pattern.matches(name)) }
        #expect(elapsed < .seconds(1))
    }
}
