import Crypto
import Testing
@testable import LayoverAuth

@Suite("TokenTable")
struct TokenTableTests {
    static func hex(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    @Test func findsATokenByItsHashOnly() {
        let table = TokenTable([.init(name: "ci", sha256: Self.hex("ci-token")),
                                .init(name: "deploy", sha256: Self.hex("deploy-token").uppercased())])
        #expect(table.name(of: "ci-token") == "ci")
        #expect(table.name(of: "deploy-token") == "deploy")
        #expect(table.name(of: "ci-token ") == nil)
        #expect(table.name(of: "") == nil)
        #expect(TokenTable([]).name(of: "ci-token") == nil)
    }

    @Test func knownDigest() {
        // The example: SHA-256 of "test".
        let table = TokenTable([.init(name: "ci", sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")])
        #expect(table.name(of: "test") == "ci")
    }

    @Test func hexParsing() {
        #expect(TokenTable.bytes(hex: String(repeating: "0a", count: 32)) == [UInt8](repeating: 10, count: 32))
        #expect(TokenTable.bytes(hex: String(repeating: "0", count: 63)) == nil)
        #expect(TokenTable.bytes(hex: String(repeating: "g", count: 64)) == nil)
        #expect(TokenTable.bytes(hex: "") == nil)
    }
}
