import LayoverWire
import Testing
@testable import LayoverAuth

@Suite("TokenTable")
struct TokenTableTests {
    static func token(_ name: String, _ text: String) -> AuthConfiguration.Token {
        .init(name: name, sha256: Digest.sha256(of: text.utf8))
    }

    @Test func findsATokenByItsHashOnly() {
        let table = TokenTable([Self.token("ci", "ci-token"), Self.token("deploy", "deploy-token")])
        #expect(table.name(of: "ci-token") == "ci")
        #expect(table.name(of: "deploy-token") == "deploy")
        #expect(table.name(of: "ci-token ") == nil)
        #expect(table.name(of: "") == nil)
        #expect(TokenTable([]).name(of: "ci-token") == nil)
    }

    @Test func knownDigest() throws {
        // The example: SHA-256 of "test".
        let digest = try Digest(algorithm: .sha256, hex: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
        #expect(TokenTable([.init(name: "ci", sha256: digest)]).name(of: "test") == "ci")
    }
}
