import Foundation
import Synchronization
import Testing
@testable import LayoverAuth

@Suite("Authenticator")
struct AuthenticatorTests {
    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// An htpasswd file with alice (secret) and bob (builder), and a token `ci-token` named ci.
    static func make(throttle: FailureThrottle = FailureThrottle(), sleeps: Sleeps = Sleeps()) throws -> (Authenticator, String) {
        let path = NSTemporaryDirectory() + "htpasswd-\(UUID().uuidString)"
        try "\(HtpasswdTests.alice)\nbob:\(HtpasswdTests.bobHash)\n".write(toFile: path, atomically: true, encoding: .utf8)
        let authenticator = Authenticator(
            htpasswd: try HtpasswdFile(path: path),
            tokens: TokenTable([TokenTableTests.token("ci", "ci-token")]),
            throttle: throttle, bcrypt: BcryptVerifier(width: 2), sleep: { await sleeps.record($0) })
        return (authenticator, path)
    }

    actor Sleeps {
        var recorded: [Duration] = []
        func record(_ duration: Duration) { recorded.append(duration) }
    }

    @Test func usersTokensAndAnonymous() async throws {
        let (authenticator, path) = try Self.make()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(await authenticator.authenticate([], from: nil) == .anonymous)
        #expect(await authenticator.authenticate([Self.basic("alice", "secret")], from: "10.0.0.1")
                == .authenticated(Principal(name: "alice", kind: .user)))
        #expect(await authenticator.authenticate([Self.basic("bob", "builder")], from: "10.0.0.1")
                == .authenticated(Principal(name: "bob", kind: .user)))
        // A token as the Basic password, whatever the user name, or as a Bearer token.
        #expect(await authenticator.authenticate([Self.basic("anything", "ci-token")], from: nil)
                == .authenticated(Principal(name: "ci", kind: .token)))
        #expect(await authenticator.authenticate(["Bearer ci-token"], from: nil) == .authenticated(Principal(name: "ci", kind: .token)))
    }

    @Test func failures() async throws {
        let (authenticator, path) = try Self.make()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(await authenticator.authenticate([Self.basic("alice", "wrong")], from: nil) == .failed(.wrongCredential))
        #expect(await authenticator.authenticate([Self.basic("nobody", "secret")], from: nil) == .failed(.wrongCredential))
        #expect(await authenticator.authenticate(["Bearer nope"], from: nil) == .failed(.unknownToken))
        // A password is not a token.
        #expect(await authenticator.authenticate(["Bearer secret"], from: nil) == .failed(.unknownToken))
        #expect(await authenticator.authenticate(["Basic %%%"], from: nil) == .failed(.malformed(.notBase64)))
        #expect(await authenticator.authenticate(["Digest x"], from: nil) == .failed(.malformed(.unknownScheme)))
        #expect(await authenticator.authenticate([Self.basic("alice", "secret"), "Bearer ci-token"], from: nil)
                == .failed(.malformed(.repeated)))
    }

    @Test func onlyTheFirstRequestPaysBcrypt() async throws {
        let (authenticator, path) = try Self.make()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let header = Self.basic("alice", "secret")
        let clock = ContinuousClock()
        let first = await clock.measure { _ = await authenticator.authenticate([header], from: nil) }
        var later = Duration.zero
        for _ in 0..<100 {
            later += await clock.measure { #expect(await authenticator.authenticate([header], from: nil).principal?.name == "alice") }
        }
        // 100 cached checks together cost less than the one bcrypt.
        #expect(later < first, "first \(first), 100 cached \(later)")
    }

    @Test func concurrentRequestsWithOneHeaderShareOneCheck() async throws {
        let (authenticator, path) = try Self.make()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let header = Self.basic("bob", "builder")
        let results = await withTaskGroup(of: Authentication.self) { group in
            for _ in 0..<20 { group.addTask { await authenticator.authenticate([header], from: nil) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 20)
        #expect(results.allSatisfy { $0 == .authenticated(Principal(name: "bob", kind: .user)) })
    }

    @Test func repeatedFailuresFromOneAddressWait() async throws {
        let sleeps = Sleeps()
        let (authenticator, path) = try Self.make(throttle: FailureThrottle(freeFailures: 2, baseDelay: .milliseconds(100)), sleeps: sleeps)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for _ in 0..<4 { _ = await authenticator.authenticate(["Bearer wrong"], from: "10.0.0.9") }
        #expect(await sleeps.recorded == [.milliseconds(100), .milliseconds(200)])
        // Another address, and a credential already verified, do not wait.
        _ = await authenticator.authenticate(["Bearer wrong"], from: "10.0.0.10")
        #expect(await sleeps.recorded.count == 2)
    }

    @Test func reloadForgetsCachedCredentials() async throws {
        let (authenticator, path) = try Self.make()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let header = Self.basic("bob", "builder")
        #expect(await authenticator.authenticate([header], from: nil).principal != nil)
        try "\(HtpasswdTests.alice)\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(authenticator.reload())
        #expect(await authenticator.authenticate([header], from: nil) == .failed(.wrongCredential))
        #expect(await authenticator.authenticate([Self.basic("alice", "secret")], from: nil).principal?.name == "alice")
    }
}
