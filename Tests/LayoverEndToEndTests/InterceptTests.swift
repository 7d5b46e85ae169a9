import Foundation
import LayoverTestSupport
import NIOCore
import Testing

/// Intercept mode (issue 14): clients reach `registry.test` (distribution's registry on
/// 127.0.0.1, behind a counting relay) only through Layover's forward proxy, trusting Layover's
/// CA; refs stay unchanged. Other hosts are tunnelled byte for byte, or refused.
@Suite("Intercept mode", .endToEnd)
struct InterceptTests {
    final class Setup: @unchecked Sendable {
        let registry: UpstreamRegistry
        let relay: Relay
        let files: TemporaryDirectory
        let layover: LayoverProcess
        let proxyPort: Int
        let stub: any Channel
        let seeder: Seeder
        /// `secure.test`: the same registry behind a token gateway whose tokens only `good:secret`
        /// gets; Layover holds that credential too. `private.test`: the same gateway, Layover
        /// holding no credential for it. `held.test`: as `secure.test`, pushes kept here (`local`).
        let gateway: TokenGateway
        static let goodCredential = "good:secret"

        /// Layover with upstream `registry.test` (no credentials) and `secure.test`, its CA made by
        /// `layover ca init`, tunnels allowed to port 443 and to a test server's port.
        init() async throws {
            registry = try await UpstreamRegistry()
            gateway = try await TokenGateway(registry: registry.url, lifetime: 300)
            gateway.state.withLock { $0.tokenCredentials = Self.goodCredential }
            relay = try await Relay(upstreamPort: registry.port)
            files = try TemporaryDirectory()
            seeder = Seeder(registry: registry.url)
            stub = try await HTTPStub.serve { incoming, _ in
                (.ok, [("Content-Type", "text/plain")], Array("tunnelled \(incoming.head.uri)\n".utf8))
            }
            let made = try await LayoverProcess.run(["ca", "init", "--dir", files.path + "/ca"])
            #expect(made.status == 0, "\(made.output)")
            proxyPort = try freePort()
            try """
                upstreams:
                  registry.test:
                    url: \(relay.url)
                  secure.test:
                    url: \(gateway.url)
                    username: good
                    password: secret
                  private.test:
                    url: \(gateway.url)
                  held.test:
                    url: \(gateway.url)
                    username: good
                    password: secret
                    push: local
                limits:
                  idleTimeoutSeconds: 3
                intercept:
                  listen: 127.0.0.1:\(proxyPort)
                  tunnelPorts: [443, \(stub.localAddress!.port!)]
                  ca:
                    certificate: \(files.path)/ca/ca.crt
                    key: \(files.path)/ca/ca.key
                """.write(toFile: files.path + "/layover.yaml", atomically: true, encoding: .utf8)
            layover = try await LayoverProcess(upstreamURL: relay.url, storage: files.path + "/store",
                                               extraArguments: ["--config", files.path + "/layover.yaml"])
            _ = try await layover.process?.waitForLine(containing: "layover intercepting on ")
        }

        var proxy: String { "http://127.0.0.1:\(proxyPort)" }
        var caCertificate: String { files.path + "/ca/ca.crt" }
        /// skopeo's `--src-cert-dir`/`--dest-cert-dir`: a directory holding the CA as `ca.crt`.
        var certDirectory: String { files.path + "/certs" }

        /// skopeo through the proxy, trusting the CA (`--src-cert-dir`/`--dest-cert-dir` given by the caller).
        func skopeo(_ arguments: [String]) throws -> TestProcess {
            if !FileManager.default.fileExists(atPath: certDirectory + "/ca.crt") {
                try FileManager.default.createDirectory(atPath: certDirectory, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: caCertificate, toPath: certDirectory + "/ca.crt")
            }
            var environment = ProcessInfo.processInfo.environment
            environment["HTTPS_PROXY"] = proxy
            environment["NO_PROXY"] = ""
            environment["no_proxy"] = ""
            return try TestProcess(executable: "/usr/bin/skopeo", arguments: arguments, environment: environment)
        }

        /// curl through the proxy, trusting the CA; returns status, body and what curl printed.
        func curl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            let process = try TestProcess(executable: "/usr/bin/curl", arguments: ["-s", "--proxy", proxy, "--cacert", caCertificate,
                                                                                  "--max-time", "30"] + arguments)
            return (try await process.waitForExit(timeout: .seconds(60)), process.output)
        }

        func shutdown() {
            layover.stop(signal: SIGKILL)
            _ = stub.close(mode: .all)
            gateway.close()
            registry.stop()
            relay.close()
            files.remove()
        }
    }

    @Test("skopeo pulls through HTTPS_PROXY with the ref unchanged, byte-identical; a second pull moves no blob bytes upstream; the CA key is not world-readable")
    func skopeoPullsThroughTheProxy() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let image = try await setup.seeder.pushImage("team/app", tag: "v1", layerSizes: [300_000, 200_000])
        let keyMode = try FileManager.default.attributesOfItem(atPath: setup.files.path + "/ca/ca.key")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let certDirectory = setup.certDirectory
        var moved: [Int] = []
        for round in 0..<2 {
            let before = setup.relay.bytesFromUpstream
            let output = setup.files.path + "/pull\(round)"
            let skopeo = try setup.skopeo([
                "copy", "--src-cert-dir", certDirectory, "docker://registry.test/team/app:v1", "dir:\(output)"])
            #expect(try await skopeo.waitForExit(timeout: .seconds(120)) == 0, "\(skopeo.output)")
            for layer in image.layers {
                let file = output + "/" + layer.digest.dropFirst("sha256:".count)
                #expect(FileManager.default.contents(atPath: file).map(Array.init) == layer.bytes, "layer \(layer.digest)")
            }
            moved.append(setup.relay.bytesFromUpstream - before)
        }
        let layerBytes = image.layers.map(\.bytes.count).reduce(0, +)
        #expect(moved[0] >= layerBytes)
        #expect(moved[1] < 100_000, "the second pull moved \(moved[1]) bytes upstream")
    }

    @Test("curl over HTTP/2 and HTTP/1.1 through the proxy gets the manifest and a blob byte-identical; a push to an upstream Layover holds no credentials for goes to it as it is")
    func curlThroughTheProxy() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let image = try await setup.seeder.pushImage("team/curl", tag: "v1", layerSizes: [50_000])
        for version in ["--http2", "--http1.1"] {
            let manifest = try await setup.curl([version, "-H", "Accept: application/vnd.oci.image.manifest.v1+json", "-w", "\n%{http_version}",
                                                 "https://registry.test/v2/team/curl/manifests/v1"])
            #expect(manifest.status == 0)
            #expect(manifest.output.hasPrefix(String(decoding: image.manifest, as: UTF8.self)), "\(manifest.output)")
            #expect(manifest.output.hasSuffix(version == "--http2" ? "\n2" : "\n1.1"))
            let blob = setup.files.path + "/blob\(version)"
            #expect(try await setup.curl([version, "-o", blob, "https://registry.test/v2/team/curl/blobs/\(image.layers[0].digest)"]).status == 0)
            #expect(FileManager.default.contents(atPath: blob).map(Array.init) == image.layers[0].bytes)
        }
        // A plain proxy request in absolute form (http://registry.test/…) is served the same way.
        let plain = try await setup.curl(["-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                                          "http://registry.test/v2/team/curl/manifests/v1"])
        #expect(plain.output == String(decoding: image.manifest, as: UTF8.self), "\(plain.output)")
        // No credentials of Layover's own for registry.test: the push goes to it as it is, its
        // upload's Location made relative so the next request comes back through the proxy.
        let push = try await setup.curl(["-X", "POST", "-D", "-", "-o", "/dev/null", "https://registry.test/v2/team/curl/blobs/uploads/"])
        // curl prints the proxy's CONNECT answer first, then the registry's.
        #expect(push.output.contains("HTTP/2 202"), "\(push.output)")
        #expect(push.output.lowercased().contains("location: /v2/team/curl/blobs/uploads/"), "\(push.output)")
    }

    @Test("another host is tunnelled byte for byte; a port tunnels may not use, a malformed CONNECT and a host not served in absolute form are refused")
    func tunnelsAndRefusals() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let stubPort = setup.stub.localAddress!.port!
        let tunnelled = try await setup.curl(["--proxytunnel", "http://127.0.0.1:\(stubPort)/anything?x=1"])
        #expect(tunnelled.output == "tunnelled /anything?x=1\n", "\(tunnelled.output)")

        let connection = try RawHTTP(port: setup.proxyPort)
        _ = connection.write("CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n")
        #expect(RawHTTP.status(of: connection.readAll()) == 403)
        let malformed = try RawHTTP(port: setup.proxyPort)
        _ = malformed.write("CONNECT nonsense HTTP/1.1\r\nHost: nonsense\r\n\r\n")
        #expect(RawHTTP.status(of: malformed.readAll()) == 400)
        // An absolute-form connection left idle after its answer is closed at the idle timeout (3 s here).
        let idle = try RawHTTP(port: setup.proxyPort)
        _ = idle.write("GET http://registry.test/v2/ HTTP/1.1\r\nHost: registry.test\r\n\r\n")
        idle.setReadTimeout(seconds: 30)
        #expect(RawHTTP.status(of: idle.readAll()) == 200)
        let quiet = ContinuousClock.now
        #expect(idle.readSome() == nil)
        #expect(ContinuousClock.now - quiet < .seconds(20), "closed at the idle timeout, not held open")
        let elsewhere = try RawHTTP(port: setup.proxyPort)
        _ = elsewhere.write("GET http://example.test/v2/ HTTP/1.1\r\nHost: example.test\r\n\r\n")
        #expect(RawHTTP.status(of: elsewhere.readAll()) == 403)
    }

    @Test("inside a registry host's tunnel: an SNI naming another host, cleartext HTTP, and a handshake that never finishes each cost only their connection")
    func badTunnels() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        // openssl's client through the proxy, with another server name: no handshake.
        let mismatched = try Self.sClient(setup, serverName: "other.test")
        #expect(try await mismatched.waitForExit(timeout: .seconds(30)) != 0)
        let matched = try Self.sClient(setup, serverName: "registry.test")
        #expect(try await matched.waitForExit(timeout: .seconds(30)) == 0, "\(matched.output)")

        let cleartext = try RawHTTP(port: setup.proxyPort)
        _ = cleartext.write("CONNECT registry.test:443 HTTP/1.1\r\nHost: registry.test:443\r\n\r\n")
        cleartext.setReadTimeout(seconds: 5)
        #expect(RawHTTP.status(of: String(decoding: cleartext.readSome() ?? [], as: UTF8.self)) == 200)
        _ = cleartext.write("GET /v2/ HTTP/1.1\r\nHost: registry.test\r\n\r\n")
        #expect(!cleartext.readAll().contains("HTTP/1.1 200"), "cleartext inside the tunnel is never answered as HTTP")

        let silent = try RawHTTP(port: setup.proxyPort)
        _ = silent.write("CONNECT registry.test:443 HTTP/1.1\r\nHost: registry.test:443\r\n\r\n")
        silent.setReadTimeout(seconds: 30)
        #expect(RawHTTP.status(of: String(decoding: silent.readSome() ?? [], as: UTF8.self)) == 200)
        let started = ContinuousClock.now
        _ = silent.readAll()
        #expect(ContinuousClock.now - started < .seconds(25), "a handshake that never starts is cut at the header timeout")

        // The proxy still serves.
        let still = try await setup.curl(["-o", "/dev/null", "-w", "%{http_code}", "https://registry.test/v2/"])
        #expect(still.output == "200")
    }

    /// `openssl s_client` through the proxy to registry.test with `serverName` as SNI, verifying
    /// the chain and the host; its input closed, so it ends after the handshake.
    static func sClient(_ setup: Setup, serverName: String) throws -> TestProcess {
        try TestProcess(executable: "/bin/sh", arguments: ["-c", """
            exec openssl s_client -proxy 127.0.0.1:\(setup.proxyPort) -connect registry.test:443 -servername \(serverName) \
              -CAfile \(setup.caCertificate) -verify_return_error -verify_hostname registry.test </dev/null
            """])
    }

    @Test("an upstream that demands credentials: a client with good ones gets the image (from the store the second time); with wrong ones, none, or a forged token, cached content is refused")
    func credentialsAreCheckedUpstream() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let image = try await setup.seeder.pushImage("team/private", tag: "v1", layerSizes: [120_000, 80_000])
        let certDirectory = setup.certDirectory
        func pull(_ credential: String?, into name: String) async throws -> (status: Int32, output: String) {
            let skopeo = try setup.skopeo(["copy", "--src-cert-dir", certDirectory] + (credential.map { ["--src-creds", $0] } ?? [])
                                          + ["docker://secure.test/team/private:v1", "dir:\(setup.files.path)/\(name)"])
            return (try await skopeo.waitForExit(timeout: .seconds(120)), skopeo.output)
        }
        let first = try await pull(Setup.goodCredential, into: "good1")
        #expect(first.status == 0, "\(first.output)")
        for layer in image.layers {
            let file = FileManager.default.contents(atPath: setup.files.path + "/good1/" + layer.digest.dropFirst("sha256:".count))
            #expect(file.map(Array.init) == layer.bytes, "layer \(layer.digest)")
        }
        // Cached now. Without the right credential, nothing of it comes back.
        #expect(try await pull("bad:wrong", into: "bad").status != 0)
        #expect(try await pull(nil, into: "none").status != 0)
        let forged = try await setup.curl(["-H", "Authorization: Bearer forged", "-w", "\n%{http_code}",
                                           "https://secure.test/v2/team/private/blobs/\(image.layers[0].digest)"])
        #expect(forged.output.hasSuffix("\n401") && forged.output.contains("UNAUTHORIZED"), "\(forged.output)")
        let anonymous = try await setup.curl(["-w", "\n%{http_code}", "https://secure.test/v2/team/private/manifests/v1"])
        #expect(anonymous.output.hasSuffix("\n401"), "\(anonymous.output)")
        // The good client again: served, and the store answers.
        let blobGets = setup.gateway.state.withLock { $0.blobGets }
        #expect(blobGets >= image.layers.count)
        let second = try await pull(Setup.goodCredential, into: "good2")
        #expect(second.status == 0, "\(second.output)")
        #expect(setup.gateway.state.withLock { $0.blobGets } == blobGets, "the second pull's blobs came from the store")
    }

    @Test("a push through the proxy with a credential the upstream lets push: acknowledged here, written back with Layover's own; a forged token cannot push; to an upstream Layover holds no credentials for, passed through")
    func pushesThroughTheProxy() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let image = try await setup.seeder.pushImage("team/source", tag: "v1", layerSizes: [60_000, 40_000])
        let layout = setup.files.path + "/layout"
        let registryHost = String(setup.registry.url.dropFirst("http://".count))
        let fetched = try await AuthSetup.skopeo(["copy", "--src-tls-verify=false", "docker://\(registryHost)/team/source:v1", "dir:\(layout)"])
        #expect(fetched.status == 0, "\(fetched.output)")
        let certDirectory = setup.certDirectory
        let push = try setup.skopeo([
            "copy", "--preserve-digests", "--dest-cert-dir", certDirectory, "--dest-creds", Setup.goodCredential, "dir:\(layout)",
            "docker://secure.test/team/pushed:v1"])
        #expect(try await push.waitForExit(timeout: .seconds(120)) == 0, "\(push.output)")
        // Written back to the upstream by Layover's queue.
        var upstream = try await TestHTTP.shared.get("\(setup.registry.url)/v2/team/pushed/manifests/v1",
                                                     headers: [("Accept", PushTests.ociManifest)])
        for _ in 0..<150 where upstream.status != 200 {
            try await Task.sleep(for: .milliseconds(200))
            upstream = try await TestHTTP.shared.get("\(setup.registry.url)/v2/team/pushed/manifests/v1",
                                                 headers: [("Accept", PushTests.ociManifest)])
        }
        let queue = try await TestHTTP.shared.get("\(setup.layover.url)/_layover/queue").text
        // Byte-identical on the upstream (--preserve-digests: skopeo sends the layers as they are).
        #expect(upstream.status == 200 && upstream.body == image.manifest, "\(upstream.status); queue: \(queue)")
        for layer in image.layers {
            let blob = try await TestHTTP.shared.get("\(setup.registry.url)/v2/team/pushed/blobs/\(layer.digest)")
            #expect(blob.status == 200 && blob.body == layer.bytes, "\(layer.digest) written back whole")
        }
        let forged = try await setup.curl(["-X", "POST", "-H", "Authorization: Bearer forged", "-w", "\n%{http_code}",
                                           "https://secure.test/v2/team/other/blobs/uploads/"])
        #expect(forged.output.hasSuffix("\n401"), "\(forged.output)")
        // registry.test, which Layover holds no credentials for: passed through, synchronously,
        // stored nowhere here (another image, whose blobs Layover never saw).
        let second = try await setup.seeder.pushImage("team/source2", tag: "v1", layerSizes: [50_000])
        let layout2 = setup.files.path + "/layout2"
        let fetched2 = try await AuthSetup.skopeo(["copy", "--src-tls-verify=false", "docker://\(registryHost)/team/source2:v1", "dir:\(layout2)"])
        #expect(fetched2.status == 0, "\(fetched2.output)")
        let through = try setup.skopeo([
            "copy", "--preserve-digests", "--dest-cert-dir", certDirectory, "dir:\(layout2)", "docker://registry.test/team/through:v1"])
        #expect(try await through.waitForExit(timeout: .seconds(120)) == 0, "\(through.output)")
        let arrived = try await TestHTTP.shared.get("\(setup.registry.url)/v2/team/through/manifests/v1",
                                                    headers: [("Accept", PushTests.ociManifest)])
        #expect(arrived.status == 200 && arrived.body == second.manifest, "on the upstream, byte-identical, as soon as the push was answered")
        let layerBlob = try await TestHTTP.shared.get("\(setup.registry.url)/v2/team/through/blobs/\(second.layers[0].digest)")
        #expect(layerBlob.body == second.layers[0].bytes)
        let stored = Fixture.blobs(inStore: setup.files.path + "/store")
        #expect(stored.isDisjoint(with: second.layers.map(\.digest)), "a passed-through push stores nothing here")
    }

    @Test("an upstream Layover holds no credentials for: a client's own good credential fetches its misses; a forged one gets nothing")
    func missesWithTheClientsCredential() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let image = try await setup.seeder.pushImage("team/mine", tag: "v1", layerSizes: [70_000])
        let certDirectory = setup.certDirectory
        let skopeo = try setup.skopeo([
            "copy", "--src-cert-dir", certDirectory, "--src-creds", Setup.goodCredential,
            "docker://private.test/team/mine:v1", "dir:\(setup.files.path)/mine"])
        #expect(try await skopeo.waitForExit(timeout: .seconds(120)) == 0, "\(skopeo.output)")
        let layer = FileManager.default.contents(atPath: setup.files.path + "/mine/" + image.layers[0].digest.dropFirst("sha256:".count))
        #expect(layer.map(Array.init) == image.layers[0].bytes, "the layer, fetched with the client's token")
        let forged = try await setup.curl(["-H", "Authorization: Bearer forged", "-w", "\n%{http_code}",
                                           "https://private.test/v2/team/mine/blobs/\(image.layers[0].digest)"])
        #expect(forged.output.hasSuffix("\n401"), "\(forged.output)")
    }

    @Test("a push not yet on the upstream (kept here) is read back by a client the upstream lets push there, and by no one else")
    func pushedButNotYetUpstream() async throws {
        let setup = try await Setup()
        defer { setup.shutdown() }
        let image = try await setup.seeder.pushImage("team/kept-source", tag: "v1", layerSizes: [30_000])
        let layout = setup.files.path + "/layout"
        let registryHost = String(setup.registry.url.dropFirst("http://".count))
        #expect(try await AuthSetup.skopeo(["copy", "--src-tls-verify=false", "docker://\(registryHost)/team/kept-source:v1", "dir:\(layout)"]).status == 0)
        let push = try setup.skopeo(["copy", "--preserve-digests", "--dest-cert-dir", setup.certDirectory, "--dest-creds", Setup.goodCredential,
                                     "dir:\(layout)", "docker://held.test/team/kept:v1"])
        #expect(try await push.waitForExit(timeout: .seconds(120)) == 0, "\(push.output)")
        let upstream = try await TestHTTP.shared.get("\(setup.registry.url)/v2/team/kept/manifests/v1", headers: [("Accept", PushTests.ociManifest)])
        #expect(upstream.status == 404, "push: local keeps it here")
        let pull = try setup.skopeo(["copy", "--src-cert-dir", setup.certDirectory, "--src-creds", Setup.goodCredential,
                                     "docker://held.test/team/kept:v1", "dir:\(setup.files.path)/kept"])
        #expect(try await pull.waitForExit(timeout: .seconds(120)) == 0, "\(pull.output)")
        let layer = FileManager.default.contents(atPath: setup.files.path + "/kept/" + image.layers[0].digest.dropFirst("sha256:".count))
        #expect(layer.map(Array.init) == image.layers[0].bytes, "the pushed layer, read back from here")
        let forged = try await setup.curl(["-H", "Authorization: Bearer forged", "-H", "Accept: \(PushTests.ociManifest)", "-w", "\n%{http_code}",
                                           "https://held.test/v2/team/kept/manifests/v1"])
        #expect(forged.output.hasSuffix("\n401"), "\(forged.output)")
    }
}
