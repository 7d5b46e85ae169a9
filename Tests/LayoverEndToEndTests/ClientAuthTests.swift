import Foundation
import LayoverTestSupport
import Testing

/// Client authentication and rights against the real executable, with skopeo and HTTP: alice may
/// pull and push `up/team/*`, bob may only pull, the token `ci` may push `up/team/*` too;
/// anonymous clients may do nothing.
@Suite("Client authentication", .endToEnd)
struct ClientAuthTests {
    final class Setup: @unchecked Sendable {
        let files: TemporaryDirectory
        let fixture: Fixture
        let token = "ci-\(UUID().uuidString)"

        init(anonymous: String = "[]") async throws {
            files = try TemporaryDirectory()
            try await AuthSetup.htpasswd([("alice", "wonderland"), ("bob", "builder")], at: files.path + "/htpasswd")
            try """
                auth:
                  htpasswd: \(files.path)/htpasswd
                  tokens:
                    - name: ci
                      sha256: \(AuthSetup.sha256(token))
                  anonymous: \(anonymous)
                  rules:
                    - who: [alice, ci]
                      repositories: ["up/team/*"]
                      allow: [pull, push]
                    - who: ["*"]
                      repositories: ["up/*"]
                      allow: [pull]
                """.write(toFile: files.path + "/layover.yaml", atomically: true, encoding: .utf8)
            fixture = try await Fixture(layoverArguments: ["--config", files.path + "/layover.yaml"])
        }

        var host: String { String(fixture.layover.url.dropFirst("http://".count)) }

        func shutdown() {
            fixture.shutdown()
            files.remove()
        }
    }

    static let challenge = "Basic realm=\"layover\""

    @Test("the login probe: 401 with a Basic challenge without credentials, 200 with them")
    func loginProbe() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let base = setup.fixture.layover.url + "/v2/"
        let anonymous = try await TestHTTP.shared.get(base)
        #expect(anonymous.status == 401)
        #expect(anonymous.header("WWW-Authenticate") == Self.challenge)
        #expect(anonymous.text.contains("\"UNAUTHORIZED\""))
        #expect(try await TestHTTP.shared.get(base, headers: [AuthSetup.basic("alice", "wonderland")]).status == 200)
        #expect(try await TestHTTP.shared.get(base, headers: [("Authorization", "Bearer \(setup.token)")]).status == 200)
        let wrong = try await TestHTTP.shared.get(base, headers: [AuthSetup.basic("alice", "Wonderland")])
        #expect(wrong.status == 401)
        #expect(wrong.header("WWW-Authenticate") == Self.challenge)
        // Health stays open; metrics answer loopback clients.
        #expect(try await TestHTTP.shared.get(setup.fixture.layover.url + "/healthz").status == 200)
        #expect(try await TestHTTP.shared.get(setup.fixture.layover.url + "/metrics").status == 200)
        #expect(!setup.fixture.layover.log.contains("wonderland"))
    }

    @Test("SIGHUP re-reads the htpasswd file: a changed password takes effect, a cached old one is forgotten")
    func htpasswdReload() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let base = setup.fixture.layover.url + "/v2/"
        #expect(try await TestHTTP.shared.get(base, headers: [AuthSetup.basic("alice", "wonderland")]).status == 200)
        try await AuthSetup.htpasswd([("alice", "looking-glass"), ("bob", "builder")], at: setup.files.path + "/htpasswd")
        setup.fixture.layover.process?.send(signal: SIGHUP)
        try await eventually(timeout: .seconds(10)) { setup.fixture.layover.log.contains("reloaded") }
        #expect(try await TestHTTP.shared.get(base, headers: [AuthSetup.basic("alice", "wonderland")]).status == 401)
        #expect(try await TestHTTP.shared.get(base, headers: [AuthSetup.basic("alice", "looking-glass")]).status == 200)
        // An unusable file keeps the users in force.
        try "alice:$apr1$notbcrypt\n".write(toFile: setup.files.path + "/htpasswd", atomically: true, encoding: .utf8)
        setup.fixture.layover.process?.send(signal: SIGHUP)
        try await eventually(timeout: .seconds(10)) { setup.fixture.layover.log.contains("reload failed") }
        #expect(try await TestHTTP.shared.get(base, headers: [AuthSetup.basic("alice", "looking-glass")]).status == 200)
        #expect(setup.fixture.layover.process?.isRunning == true)
    }

    @Test("skopeo pushes with --dest-creds and pulls with --src-creds; without credentials it is refused")
    func skopeoWithCredentials() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let fixture = setup.fixture
        _ = try await fixture.seeder.pushImage("source/app", tag: "v1", layerSizes: [200_000, 50_000])
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        _ = try await Skopeo.copy("\(fixture.registry.url.dropFirst(7))/source/app:v1", into: scratch.path + "/image")

        let refused = try await AuthSetup.push(scratch.path + "/image", to: "\(setup.host)/up/team/app:v1", credentials: nil)
        #expect(refused.status != 0)
        let pushed = try await AuthSetup.push(scratch.path + "/image", to: "\(setup.host)/up/team/app:v1", credentials: "alice:wonderland")
        #expect(pushed.status == 0, "\(pushed.output)")
        try await eventually(timeout: .seconds(20)) { try await AuthSetup.catalog(fixture.registry).contains("team/app") }

        // bob may pull what alice pushed; an anonymous client may not.
        let pulled = try await AuthSetup.pull("\(setup.host)/up/team/app:v1", into: scratch.path + "/bob", credentials: "bob:builder")
        #expect(pulled.status == 0, "\(pulled.output)")
        let anonymous = try await AuthSetup.pull("\(setup.host)/up/team/app:v1", into: scratch.path + "/anon", credentials: nil)
        #expect(anonymous.status != 0)
        let wrongPassword = try await AuthSetup.pull("\(setup.host)/up/team/app:v1", into: scratch.path + "/wrong", credentials: "bob:wrong")
        #expect(wrongPassword.status != 0)
        #expect(wrongPassword.output.lowercased().contains("unauthorized") || wrongPassword.output.contains("401"), "\(wrongPassword.output)")
        // The token, as the Basic password with any user name.
        let token = try await AuthSetup.pull("\(setup.host)/up/team/app:v1", into: scratch.path + "/ci", credentials: "whoever:\(setup.token)")
        #expect(token.status == 0, "\(token.output)")
        #expect(!fixture.layover.log.contains("wonderland") && !fixture.layover.log.contains(setup.token))
    }

    @Test("a pull-only user's push is refused before anything is stored here or sent upstream")
    func pullOnlyUserCannotPush() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let fixture = setup.fixture
        let image = try await fixture.seeder.pushImage("source/bobs", tag: "v1", layerSizes: [300_000])
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        _ = try await Skopeo.copy("\(fixture.registry.url.dropFirst(7))/source/bobs:v1", into: scratch.path + "/image")

        let refused = try await AuthSetup.push(scratch.path + "/image", to: "\(setup.host)/up/team/bobs:v1", credentials: "bob:builder")
        #expect(refused.status != 0)
        #expect(refused.output.contains("denied") || refused.output.contains("DENIED"), "\(refused.output)")

        // By HTTP: every push request is 403 DENIED, mounts included.
        let pusher = OCIPusher(base: fixture.url("team/bobs"))
        let bob = AuthSetup.basic("bob", "builder")
        let start = try await TestHTTP.shared.send(.POST, pusher.base + "/blobs/uploads/", headers: [bob])
        #expect(start.status == 403)
        #expect(start.text.contains("\"DENIED\"") && start.text.contains("bob may not push up/team/bobs"))
        let monolithic = try await TestHTTP.shared.send(.POST, pusher.base + "/blobs/uploads/?digest=\(TestHTTP.digest(of: [1, 2, 3]))",
                                                        headers: [bob], body: [1, 2, 3])
        #expect(monolithic.status == 403)
        let manifest = try await TestHTTP.shared.send(.PUT, pusher.base + "/manifests/v1",
                                                      headers: [bob, ("Content-Type", PushTests.ociManifest)], body: Array("{}".utf8))
        #expect(manifest.status == 403)
        let mount = try await TestHTTP.shared.send(.POST, pusher.base + "/blobs/uploads/?mount=\(image.layers[0].digest)&from=up/source/bobs",
                                                   headers: [bob])
        #expect(mount.status == 403)

        // Nothing here, nothing upstream, nothing queued.
        let stored = fixture.storedBlobs()
        #expect(image.layers.allSatisfy { !stored.contains($0.digest) })
        #expect(fixture.ingestFiles().isEmpty)
        #expect(try await !AuthSetup.catalog(fixture.registry).contains("team/bobs"))
        let queue = try await TestHTTP.shared.get(fixture.layover.url + "/_layover/queue")
        #expect(queue.status == 200)
        #expect(!queue.text.contains("bobs"))
    }

    @Test("wrong password, unknown token, malformed headers: 401, slowed after five; a repository outside the rules: 403")
    func refusals() async throws {
        let setup = try await Setup(anonymous: "[pull]")
        defer { setup.shutdown() }
        let fixture = setup.fixture
        _ = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [1000])
        let manifest = fixture.url("team/app") + "/manifests/v1"
        let accept = ("Accept", PushTests.ociManifest)
        #expect(try await TestHTTP.shared.get(manifest, headers: [accept]).status == 200)

        // Bearer token: may push under up/team/, not elsewhere.
        let bearer = ("Authorization", "Bearer \(setup.token)")
        #expect(try await TestHTTP.shared.send(.POST, fixture.url("team/ci") + "/blobs/uploads/", headers: [bearer]).status == 202)
        let outside = try await TestHTTP.shared.send(.POST, fixture.url("other/app") + "/blobs/uploads/", headers: [bearer])
        #expect(outside.status == 403)
        #expect(outside.text.contains("\"DENIED\"") && outside.text.contains("ci may not push up/other/app"))
        // alice too; names without a prefix (the default upstream) are matched as up/<name>.
        let alice = AuthSetup.basic("alice", "wonderland")
        #expect(try await TestHTTP.shared.send(.POST, fixture.layover.url + "/v2/team/x/blobs/uploads/", headers: [alice]).status == 202)
        #expect(try await TestHTTP.shared.send(.POST, fixture.layover.url + "/v2/other/x/blobs/uploads/", headers: [alice]).status == 403)
        // An anonymous push is challenged, so that the client logs in.
        let anonymousPush = try await TestHTTP.shared.send(.POST, fixture.url("team/anon") + "/blobs/uploads/")
        #expect(anonymousPush.status == 401)
        #expect(anonymousPush.header("WWW-Authenticate") == Self.challenge)

        // Anonymous clients may pull here, yet a wrong credential is refused, never downgraded.
        let clock = ContinuousClock()
        var durations: [Duration] = []
        for headers in [[AuthSetup.basic("alice", "nope")], [AuthSetup.basic("mallory", "wonderland")], [("Authorization", "Bearer nope")],
                        [("Authorization", "Bearer wonderland")], [("Authorization", "Basic !!!")], [("Authorization", "Basic YWxpY2U=")],
                        [("Authorization", "Digest username=alice")], [alice, bearer]] {
            var answer: TestHTTP.Answer?
            durations.append(try await clock.measure { answer = try await TestHTTP.shared.get(manifest, headers: [accept] + headers) })
            #expect(answer?.status == 401, "\(headers)")
            #expect(answer?.header("WWW-Authenticate") == Self.challenge)
            #expect(answer?.text.contains("\"UNAUTHORIZED\"") == true)
        }
        // Five failures are free; the 6th, 7th and 8th wait 0.5, 1 and 2 s (lower bounds only: a
        // loaded machine may make any request slow).
        #expect(durations[5] >= .milliseconds(450) && durations[6] >= .milliseconds(950) && durations[7] >= .milliseconds(1900),
                "\(durations)")
        // A credential verified before is not slowed (the next wait would be 4 s), and the server
        // is well after all that.
        var status = 0
        let verified = try await clock.measure { status = try await TestHTTP.shared.get(manifest, headers: [accept, alice]).status }
        #expect(status == 200)
        #expect(verified < .milliseconds(3500))
        let log = fixture.layover.log
        #expect(!log.contains("wonderland") && !log.contains(setup.token) && !log.contains("YWxpY2U"))
    }
}
