import Foundation
import Testing
@testable import LayoverAuth

@Suite("Htpasswd")
struct HtpasswdTests {
    // Made by `htpasswd -nbB alice secret` and `htpasswd -nbB -C 4 bob builder`.
    static let alice = "alice:$2y$05$IdoiUoFH27Xu54SuTHScEu3d42fVndHXyX.NU6qZFirCElC1EfVTG"
    static let bobHash = "$2y$04$eznNX0gkYJ8nbJPjFnIKt.dCVGxXW4uEUEuHY6t/Glzixwskjf89y"

    @Test func parsesBcryptEntriesCommentsAndBlankLines() throws {
        let text = "# users\n\(Self.alice)\r\n\n   \nbob:\(Self.bobHash)\ncarol:$2b$10$" + String(repeating: "a", count: 53) + ":extra\n"
        let table = try Htpasswd.parse(text, path: "users")
        #expect(table.count == 3)
        #expect(table["alice"]?.hasPrefix("$2y$05$") == true)
        #expect(table["bob"] == Self.bobHash)
        #expect(table["carol"]?.hasPrefix("$2b$10$") == true)
    }

    @Test(arguments: [
        ("alice:$apr1$abc$def", "line 2: user alice: an MD5 ($apr1$) hash is not supported; recreate the entry with `htpasswd -B`"),
        ("alice:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=", "line 2: user alice: a SHA-1 ({SHA}) hash is not supported; recreate the entry with `htpasswd -B`"),
        ("alice:abcdefghijklm", "line 2: user alice: a DES crypt hash is not supported; recreate the entry with `htpasswd -B`"),
        ("alice:secret", "line 2: user alice: a hash that is not bcrypt (or a plain-text password) is not supported; recreate the entry with `htpasswd -B`"),
        ("alice:$2y$05$short", "line 2: user alice: malformed bcrypt hash"),
        ("alice:$2y$99$" + String(repeating: "a", count: 53), "line 2: user alice: malformed bcrypt hash"),
        ("no colon here", "line 2: expected user:hash"),
        (":" + bobHash, "line 2: empty user name"),
        ("bob:" + bobHash, "line 2: user bob appears twice"),
    ])
    func refusesWhatItCannotCheck(line: String, message: String) {
        #expect(throws: AuthError.invalidEntry(path: "f", line: 2, reason: String(message.dropFirst("line 2: ".count)))) {
            try Htpasswd.parse("bob:\(Self.bobHash)\n\(line)\n", path: "f")
        }
    }

    @Test func errorsNeverShowTheHash() {
        do {
            _ = try Htpasswd.parse("alice:$apr1$salt$secretHashValue\n", path: "f")
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("secretHashValue"))
            #expect(error.description.contains("f, line 1"))
        }
    }

    @Test func fileReloadKeepsTheOldTableWhenTheNewOneIsBad() throws {
        let path = NSTemporaryDirectory() + "htpasswd-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "\(Self.alice)\n".write(toFile: path, atomically: true, encoding: .utf8)
        let file = try HtpasswdFile(path: path)
        #expect(file.userCount == 1)
        try "\(Self.alice)\nbob:\(Self.bobHash)\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(file.reload())
        #expect(file.hash(of: "bob") == Self.bobHash)
        try "bob:$apr1$x$y\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(!file.reload())
        #expect(file.hash(of: "bob") == Self.bobHash && file.userCount == 2)
        try FileManager.default.removeItem(atPath: path)
        #expect(!file.reload())
        #expect(file.userCount == 2)
    }

    @Test func missingFileIsAClearError() {
        #expect(throws: AuthError.unreadable(path: "/nonexistent/htpasswd", reason: "no such file")) {
            try HtpasswdFile(path: "/nonexistent/htpasswd")
        }
        #expect(AuthError.unreadable(path: "/x", reason: "no such file").description == "auth.htpasswd: cannot read /x: no such file")
    }

    @Test func bcryptChecksHtpasswdHashes() async {
        let verifier = BcryptVerifier(width: 1)
        let aliceHash = String(Self.alice.dropFirst("alice:".count))
        #expect(await verifier.verify("secret", hash: aliceHash))
        #expect(await !verifier.verify("Secret", hash: aliceHash))
        #expect(await verifier.verify("builder", hash: Self.bobHash))
        // $2b$ and $2a$ spellings of the same hash.
        #expect(await verifier.verify("builder", hash: "$2b$" + Self.bobHash.dropFirst(4)))
        #expect(await verifier.verify("builder", hash: "$2a$" + Self.bobHash.dropFirst(4)))
        #expect(await !verifier.verify("builder\0", hash: Self.bobHash))
        #expect(await !verifier.verify("builder", hash: "garbage"))
    }
}
