import Foundation
import Testing
@testable import LayoverAuth

@Suite("Credential")
struct CredentialTests {
    static func basic(_ text: String) -> String { "Basic " + Data(text.utf8).base64EncodedString() }

    @Test func basicAndBearer() throws {
        #expect(try Credential(header: Self.basic("alice:s3cret:with:colons")) == .basic(user: "alice", password: "s3cret:with:colons"))
        #expect(try Credential(header: "basic  " + Data("bob:".utf8).base64EncodedString()) == .basic(user: "bob", password: ""))
        #expect(try Credential(header: "Bearer abc.def-ghi") == .bearer(token: "abc.def-ghi"))
        #expect(try Credential(header: "BEARER tok ") == .bearer(token: "tok"))
        // Unpadded base64 is read too.
        #expect(try Credential(header: "Basic YTpi") == .basic(user: "a", password: "b"))
        #expect(try Credential(header: "Basic YTpiYw") == .basic(user: "a", password: "bc"))
    }

    @Test(arguments: [
        ("", MalformedCredential.empty),
        ("Basic", .noParameter),
        ("Basic    ", .noParameter),
        ("Bearer", .noParameter),
        ("Digest username=\"x\"", .unknownScheme),
        ("Negotiate abc", .unknownScheme),
        ("Basic !!!notbase64", .notBase64),
        ("Basic YWxpY2U=", .noColon),
        ("Basic /w==", .notUTF8),
        ("Basic A", .notBase64),
    ])
    func malformed(header: String, expected: MalformedCredential) {
        #expect(throws: expected) { try Credential(header: header) }
    }

    @Test func printingNeverShowsTheSecret() throws {
        let credential = try Credential(header: Self.basic("alice:hunter2"))
        for text in [String(describing: credential), String(reflecting: credential), "\(credential)"] {
            #expect(!text.contains("hunter2"))
            #expect(!text.contains("alice"))
        }
        #expect(!"\(Credential.bearer(token: "tok-123"))".contains("tok-123"))
    }

    @Test func garbageNeverTraps() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let length = Int.random(in: 0..<40, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? Credential(header: text)
            _ = try? Credential(header: "Basic " + text)
            _ = try? Credential(header: "Basic " + Data(bytes).base64EncodedString())
        }
    }
}
