import Foundation
import LayoverAuth
import LayoverWire
import Testing
@testable import LayoverConfig

@Suite("auth section")
struct AuthSectionTests {
    let defaults = LayoverConfiguration.embeddedDefault
    static let ciHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

    @Test func theIssuesExampleParses() throws {
        var configuration = defaults
        try configuration.apply(yaml: """
            auth:
              htpasswd: /etc/layover/htpasswd      # bcrypt entries (htpasswd -B); re-read on SIGHUP
              tokens:                              # for CI
                - name: ci
                  sha256: \(Self.ciHash.uppercased())
              anonymous: [pull]
              rules:
                - who: [alice, ci]
                  repositories: ["ghcr.io/org/*"]
                  allow: [pull, push]
                - who: "*"
                  repositories: "*"
                  allow: []
              adminUsers: [alice]
            """)
        #expect(configuration.auth == AuthConfiguration(
            htpasswd: "/etc/layover/htpasswd",
            tokens: [.init(name: "ci", sha256: try Digest(algorithm: .sha256, hex: Self.ciHash))],
            anonymous: [.pull],
            rules: [AccessRule(who: ["alice", "ci"], repositories: ["ghcr.io/org/*"], allow: [.pull, .push]),
                    AccessRule(who: ["*"], repositories: ["*"], allow: [])],
            adminUsers: ["alice"]))
        #expect(try configuration.validated() == configuration)
    }

    @Test func absentMeansOffAndEmptyMeansOnWithNothingOpen() throws {
        #expect(defaults.auth == nil)
        for yaml in ["auth:\n", "auth: {}\n", "auth:\n  # all commented out\n"] {
            var configuration = defaults
            try configuration.apply(yaml: yaml)
            #expect(configuration.auth == AuthConfiguration(), "\(yaml)")
            #expect(configuration.auth?.anonymous == [])
            #expect(configuration.auth?.effectiveRules == [.anyAuthenticatedClient])
        }
    }

    @Test("bad auth values are refused with the key named", arguments: [
        ("auth:\n  anonymous: [pul]", "auth.anonymous: unknown right `pul` (expected pull or push)"),
        ("auth:\n  anonymous: [pull, delete]", "auth.anonymous: unknown right `delete` (expected pull or push)"),
        ("auth:\n  rules:\n    - who: [a]\n      repositories: [x]\n      allow: [pull, Push]",
         "auth.rules[0].allow: unknown right `Push` (expected pull or push)"),
        ("auth:\n  rules:\n    - who: [a]\n      repositories: [x]",
         "auth.rules[0].allow: missing (pull, push, or [] for neither)"),
        ("auth:\n  rules:\n    - who: []\n      repositories: [x]\n      allow: [pull]",
         "auth.rules[0].who: name users or tokens, or \"*\" for any authenticated client"),
        ("auth:\n  rules:\n    - who: [a]\n      allow: [pull]",
         "auth.rules[0].repositories: name repository patterns, e.g. \"ghcr.io/org/*\""),
        ("auth:\n  tokens:\n    - name: ci\n      sha256: abc",
         "auth.tokens[0].sha256: expected the token's SHA-256 as 64 hex digits (printf %s \"$TOKEN\" | sha256sum)"),
        ("auth:\n  tokens:\n    - name: ci\n      sha256: \(String(repeating: "z", count: 64))",
         "auth.tokens[0].sha256: expected the token's SHA-256 as 64 hex digits (printf %s \"$TOKEN\" | sha256sum)"),
        ("auth:\n  tokens:\n    - sha256: \(ciHash)", "auth.tokens[0].name: missing"),
        ("auth:\n  tokens:\n    - name: ci\n      sha256: \(ciHash)\n    - name: ci\n      sha256: \(ciHash)",
         "auth.tokens[1].name: token ci appears twice"),
        ("auth:\n  htpasswd: ''", "auth.htpasswd: empty path"),
    ])
    func badValues(_ yaml: String, _ message: String) {
        var configuration = defaults
        #expect(throws: ConfigurationError(message)) { try configuration.apply(yaml: yaml) }
    }

    @Test func printedAndReadBack() throws {
        var configuration = defaults
        try configuration.apply(yaml: """
            auth:
              htpasswd: /etc/layover/htpasswd
              tokens:
                - name: ci
                  sha256: \(Self.ciHash)
              anonymous: [push, pull]
              rules:
                - who: [alice, "ci"]
                  repositories: ["ghcr.io/org/*", "docker.io/library/it's"]
                  allow: [push]
              adminUsers: [alice]
            """)
        let printed = ConfigurationPrinter.yaml(configuration)
        #expect(printed.contains("""
            auth:
              htpasswd: '/etc/layover/htpasswd'
              tokens:
                - name: 'ci'
                  sha256: \(Self.ciHash)
              anonymous: [pull, push]
              rules:
                - who: ['alice', 'ci']
                  repositories: ['ghcr.io/org/*', 'docker.io/library/it''s']
                  allow: [push]
              adminUsers: ['alice']
            """))
        var again = defaults
        try again.apply(yaml: printed)
        #expect(again.auth == configuration.auth)
    }

    @Test("the configuration reference's auth example is accepted as it is written")
    func documentedExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let reference = try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let section = try #require(reference.range(of: "## Client authentication"))
        let block = try #require(reference[section.upperBound...].range(of: "```yaml\n"))
        let end = try #require(reference[block.upperBound...].range(of: "```"))
        var configuration = defaults
        try configuration.apply(yaml: String(reference[block.upperBound..<end.lowerBound]))
        #expect(configuration.auth?.tokens.first?.name == "ci")
        #expect(configuration.auth?.effectiveRules.count == 2)
        #expect(configuration.auth?.anonymous == [.pull])
    }

    @Test func printsTheDefaultRuleAndTheSecureDefault() throws {
        var configuration = defaults
        try configuration.apply(yaml: "auth: {}\n")
        #expect(ConfigurationPrinter.yaml(configuration).contains("""
              rules:   # none configured: any authenticated client may pull and push
                - who: ['*']
                  repositories: ['*']
                  allow: [pull, push]
            """))
        var exposed = defaults
        try exposed.setListen("0.0.0.0:5000")
        #expect(ConfigurationPrinter.yaml(exposed).contains("# no auth section: anonymous clients may pull; pushes are refused"))
        #expect(!ConfigurationPrinter.yaml(defaults).contains("auth"))
    }
}
