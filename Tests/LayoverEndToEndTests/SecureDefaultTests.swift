import Foundation
import LayoverTestSupport
import Testing

/// Without an `auth` section, a listener on a non-loopback address serves pulls and refuses
/// pushes; the admin endpoints with auth on answer loopback clients and `adminUsers`; a config
/// file with a misspelt key, or an htpasswd file that is missing, stops the start.
@Suite("Secure by default", .endToEnd)
struct SecureDefaultTests {
    /// Layover listening on every address; its URL through loopback.
    static func exposed(_ fixture: Fixture) -> String {
        fixture.layover.url.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
    }

    @Test("no auth section, listening on 0.0.0.0: pulls served, pushes refused with how to enable them")
    func anonymousPushRefusedOnANonLoopbackListener() async throws {
        let fixture = try await Fixture(layoverArguments: ["--listen", "0.0.0.0:0"])
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [2000])
        let base = Self.exposed(fixture) + "/v2/up/team/app"
        #expect(try await TestHTTP.shared.get(Self.exposed(fixture) + "/v2/").status == 200)
        let pulled = try await TestHTTP.shared.get(base + "/blobs/\(image.layers[0].digest)")
        #expect(pulled.status == 200 && pulled.body == image.layers[0].bytes)

        let push = try await TestHTTP.shared.send(.POST, base + "/blobs/uploads/")
        #expect(push.status == 403)
        #expect(push.text.contains("\"DENIED\""))
        #expect(push.text.contains("configure auth") && push.text.contains("anonymous: [pull, push]"), "\(push.text)")
        let manifest = try await TestHTTP.shared.send(.PUT, base + "/manifests/v2", headers: [("Content-Type", PushTests.ociManifest)],
                                                      body: image.manifest)
        #expect(manifest.status == 403)
        #expect(try await TestHTTP.shared.get(fixture.registry.url + "/v2/team/app/manifests/v2").status == 404)
        // Credentials do not matter while authentication is off.
        let withCredentials = try await TestHTTP.shared.send(.POST, base + "/blobs/uploads/", headers: [AuthSetup.basic("a", "b")])
        #expect(withCredentials.status == 403)
        // The admin endpoints stay as they were.
        #expect(try await TestHTTP.shared.get(Self.exposed(fixture) + "/_layover/status").status == 200)
    }

    @Test("the embedded default's loopback listener keeps anonymous pushes")
    func loopbackListenerKeepsAnonymousPushes() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        #expect(try await TestHTTP.shared.send(.POST, fixture.url("team/app") + "/blobs/uploads/").status == 202)
    }

    @Test("anonymous: [pull, push] opens pushes on a non-loopback listener")
    func explicitAnonymousPush() async throws {
        let files = try TemporaryDirectory()
        defer { files.remove() }
        try "auth:\n  anonymous: [pull, push]\n".write(toFile: files.path + "/layover.yaml", atomically: true, encoding: .utf8)
        let fixture = try await Fixture(layoverArguments: ["--listen", "0.0.0.0:0", "--config", files.path + "/layover.yaml"])
        defer { fixture.shutdown() }
        #expect(try await TestHTTP.shared.send(.POST, Self.exposed(fixture) + "/v2/up/team/app/blobs/uploads/").status == 202)
        #expect(try await TestHTTP.shared.get(Self.exposed(fixture) + "/v2/").status == 200)
    }

    @Test("with auth on, admin endpoints answer loopback clients and adminUsers only",
          .enabled(if: AuthSetup.nonLoopbackIPv4() != nil, "needs an address other than loopback"))
    func adminEndpoints() async throws {
        let address = try #require(AuthSetup.nonLoopbackIPv4())
        let files = try TemporaryDirectory()
        defer { files.remove() }
        try await AuthSetup.htpasswd([("admin", "root-pw"), ("dev", "dev-pw")], at: files.path + "/htpasswd")
        try """
            auth:
              htpasswd: \(files.path)/htpasswd
              anonymous: [pull]
              adminUsers: [admin]
            """.write(toFile: files.path + "/layover.yaml", atomically: true, encoding: .utf8)
        let fixture = try await Fixture(layoverArguments: ["--listen", "0.0.0.0:0", "--config", files.path + "/layover.yaml"])
        defer { fixture.shutdown() }
        let port = try #require(fixture.layover.url.split(separator: ":").last)
        let remote = "http://\(address):\(port)"
        for path in ["/metrics", "/_layover/status", "/_layover/queue"] {
            #expect(try await TestHTTP.shared.get(Self.exposed(fixture) + path).status == 200, "loopback \(path)")
            let anonymous = try await TestHTTP.shared.get(remote + path)
            #expect(anonymous.status == 401, "\(path)")
            #expect(anonymous.header("WWW-Authenticate") == "Basic realm=\"layover\"")
            #expect(try await TestHTTP.shared.get(remote + path, headers: [AuthSetup.basic("dev", "dev-pw")]).status == 403)
            #expect(try await TestHTTP.shared.get(remote + path, headers: [AuthSetup.basic("admin", "root-pw")]).status == 200)
        }
        #expect(try await TestHTTP.shared.get(remote + "/healthz").status == 200)
        #expect(try await TestHTTP.shared.get(remote + "/readyz").status == 200)
    }

    @Test("a misspelt key stops the start, naming the key and the nearest known one")
    func misspeltKeyRefused() async throws {
        let files = try TemporaryDirectory()
        defer { files.remove() }
        try "auht:\n  anonymous: [pull]\n".write(toFile: files.path + "/layover.yaml", atomically: true, encoding: .utf8)
        let run = try await LayoverProcess.run(["serve", "--listen", "127.0.0.1:0", "--storage", files.path + "/store",
                                                "--config", files.path + "/layover.yaml"], timeout: .seconds(30))
        #expect(run.status != 0)
        #expect(run.output.contains("unknown key `auht` (did you mean `auth`?)"), "\(run.output)")
        #expect(!FileManager.default.fileExists(atPath: files.path + "/store"))
    }

    @Test("a missing htpasswd file, or one with an MD5 entry, stops the start")
    func badHtpasswdRefused() async throws {
        let files = try TemporaryDirectory()
        defer { files.remove() }
        try "auth:\n  htpasswd: \(files.path)/missing\n".write(toFile: files.path + "/missing.yaml", atomically: true, encoding: .utf8)
        let missing = try await LayoverProcess.run(["serve", "--listen", "127.0.0.1:0", "--storage", files.path + "/store",
                                                    "--config", files.path + "/missing.yaml"], timeout: .seconds(30))
        #expect(missing.status != 0)
        #expect(missing.output.contains("auth.htpasswd: cannot read \(files.path)/missing: no such file"), "\(missing.output)")

        let md5 = try TestProcess(executable: "/usr/bin/htpasswd", arguments: ["-cbm", files.path + "/md5", "alice", "pw"])
        #expect(try await md5.waitForExit() == 0)
        try "auth:\n  htpasswd: \(files.path)/md5\n".write(toFile: files.path + "/md5.yaml", atomically: true, encoding: .utf8)
        let weak = try await LayoverProcess.run(["serve", "--listen", "127.0.0.1:0", "--storage", files.path + "/store",
                                                 "--config", files.path + "/md5.yaml"], timeout: .seconds(30))
        #expect(weak.status != 0)
        #expect(weak.output.contains("line 1: user alice: an MD5 ($apr1$) hash is not supported"), "\(weak.output)")
    }
}
