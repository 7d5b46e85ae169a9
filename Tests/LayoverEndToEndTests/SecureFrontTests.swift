import Foundation
import LayoverTestSupport
import Testing

/// The front over TLS (HTTP/2 by ALPN, HTTP/1.1) and HTTP/2 with prior knowledge, with real
/// clients: skopeo, curl, h2load, and frames written by hand.
@Suite("TLS and HTTP/2 front", .endToEnd)
struct SecureFrontTests {
    /// A fixture serving TLS with a certificate from a CA the test made.
    struct Secure {
        let fixture: Fixture
        let certificates: TestCertificates
        let certificate: (certificate: String, key: String)
        let workspace: TemporaryDirectory

        init(environment: [String: String] = [:]) async throws {
            workspace = try TemporaryDirectory()
            certificates = try await TestCertificates(directory: workspace.path)
            certificate = try await certificates.issue("server", serial: 1)
            fixture = try await Fixture(layoverArguments: ["--tls-cert", certificate.certificate, "--tls-key", certificate.key],
                                        layoverEnvironment: environment)
        }

        /// `127.0.0.1:PORT` of the TLS listener.
        var authority: String { String(fixture.layover.url.dropFirst("https://".count)) }
        var port: Int { Int(authority.split(separator: ":").last!)! }

        func shutdown() {
            fixture.shutdown()
            workspace.remove()
        }
    }

    /// skopeo's transport sets its own TLS configuration, with which Go keeps to HTTP/1.1 (seen in
    /// the access log); HTTP/2 over TLS is curl's part below.
    @Test("skopeo pulls and pushes over TLS with the test's CA")
    func skopeoOverTLS() async throws {
        let secure = try await Secure()
        defer { secure.shutdown() }
        let image = try await secure.fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [300_000, 2_000_000])
        let pulled = secure.workspace.path + "/pulled"
        let copy = try TestProcess(executable: "/usr/bin/skopeo", arguments: [
            "copy", "--src-cert-dir", secure.certificates.certDirectory,
            "docker://\(secure.authority)/up/team/app:v1", "dir:\(pulled)",
        ])
        #expect(try await copy.waitForExit() == 0, "\(copy.output)")
        for layer in image.layers {
            let name = String(layer.digest.dropFirst("sha256:".count))
            #expect(FileManager.default.contents(atPath: "\(pulled)/\(name)").map([UInt8].init) == layer.bytes)
        }

        let push = try TestProcess(executable: "/usr/bin/skopeo", arguments: [
            "copy", "--dest-cert-dir", secure.certificates.certDirectory,
            "dir:\(pulled)", "docker://\(secure.authority)/up/team/copy:v1",
        ])
        #expect(try await push.waitForExit() == 0, "\(push.output)")
        try await eventually(timeout: .seconds(30)) {
            try await TestHTTP.shared.head(secure.fixture.registry.url + "/v2/team/copy/manifests/v1",
                                           headers: [("Accept", PushTests.ociManifest)]).status == 200
        }
    }

    @Test("curl over TLS (HTTP/2 and HTTP/1.1) and cleartext (HTTP/2 with prior knowledge and HTTP/1.1): byte-identical bodies and ranges")
    func curlOnEveryProtocol() async throws {
        let secure = try await Secure()
        defer { secure.shutdown() }
        let cleartext = try await Fixture()
        defer { cleartext.shutdown() }
        let bytes = (0..<3_000_000).map { _ in UInt8.random(in: 0...255) }
        let digest = try await secure.fixture.seeder.pushBlob("team/app", bytes)
        _ = try await cleartext.seeder.pushBlob("team/app", bytes)
        let tls = ["--cacert", secure.certificates.caPath]
        let cases: [(url: String, arguments: [String], version: String)] = [
            (secure.fixture.url("team/app"), tls + ["--http2"], "2"),
            (secure.fixture.url("team/app"), tls + ["--http1.1"], "1.1"),
            (cleartext.url("team/app"), ["--http2-prior-knowledge"], "2"),
            (cleartext.url("team/app"), ["--http1.1"], "1.1"),
        ]
        for (base, arguments, version) in cases {
            // The first GET of each fixture is a miss streamed from the upstream, the next a hit.
            for _ in 0..<2 {
                let answer = try await Curl.fetch(base + "/blobs/\(digest)", arguments, in: secure.workspace.path)
                #expect(answer.status == 200 && answer.httpVersion == version, "\(arguments)")
                #expect(answer.body == bytes, "\(arguments): body differs")
            }
            // HEAD: the head alone, its length announced (over HTTP/2 one HEADERS frame ends the stream).
            let head = try await Curl.fetch(base + "/blobs/\(digest)", arguments + ["-I"], in: secure.workspace.path)
            #expect(head.status == 200 && head.httpVersion == version && head.headers["content-length"] == String(bytes.count), "\(arguments): HEAD")
            let range = try await Curl.fetch(base + "/blobs/\(digest)", arguments + ["-r", "1000000-1999999"], in: secure.workspace.path)
            #expect(range.status == 206 && Array(range.body) == Array(bytes[1_000_000..<2_000_000]), "\(arguments): range")
            let manifestless = try await Curl.fetch(base.replacingOccurrences(of: "/up/team/app", with: "") + "/", arguments,
                                                    in: secure.workspace.path)
            #expect(manifestless.status == 200 && manifestless.body == Array("{}".utf8))
        }
    }

    @Test("a push over HTTP/2 and TLS: chunked upload, monolithic upload, manifest; replicated, and pulled back over HTTP/2")
    func pushOverHTTP2() async throws {
        let secure = try await Secure()
        defer { secure.shutdown() }
        let h2 = ["--cacert", secure.certificates.caPath, "--http2"]
        let directory = secure.workspace.path
        let base = secure.fixture.url("team/h2")
        let layer = (0..<3_000_000).map { _ in UInt8.random(in: 0...255) }
        let config = Array("{\"architecture\":\"amd64\",\"os\":\"linux\"}".utf8)
        let files = (layer: directory + "/layer", config: directory + "/config", manifest: directory + "/manifest")
        FileManager.default.createFile(atPath: files.layer, contents: Data(layer))
        FileManager.default.createFile(atPath: files.config, contents: Data(config))
        let layerDigest = TestHTTP.digest(of: layer), configDigest = TestHTTP.digest(of: config)

        // The layer in two PATCH chunks, then the closing PUT.
        let started = try await Curl.fetch(base + "/blobs/uploads/", h2 + ["-X", "POST"], in: directory)
        #expect(started.status == 202 && started.httpVersion == "2")
        var location = try #require(started.headers["location"])
        for (start, end) in [(0, 1_999_999), (2_000_000, layer.count - 1)] {
            let chunk = directory + "/chunk"
            FileManager.default.createFile(atPath: chunk, contents: Data(layer[start...end]))
            let url = location.hasPrefix("http") ? location : secure.fixture.layover.url + location
            let patched = try await Curl.fetch(url, h2 + ["-X", "PATCH", "--data-binary", "@" + chunk,
                                                          "-H", "Content-Type: application/octet-stream",
                                                          "-H", "Content-Range: \(start)-\(end)"], in: directory)
            #expect(patched.status == 202, "PATCH \(start)-\(end): \(patched.status)")
            location = try #require(patched.headers["location"])
        }
        let closing = (location.hasPrefix("http") ? location : secure.fixture.layover.url + location)
            + (location.contains("?") ? "&" : "?") + "digest=\(layerDigest)"
        #expect(try await Curl.fetch(closing, h2 + ["-X", "PUT"], in: directory).status == 201)
        // The config in one POST.
        let monolithic = try await Curl.fetch(base + "/blobs/uploads/?digest=\(configDigest)",
                                              h2 + ["-X", "POST", "--data-binary", "@" + files.config], in: directory)
        #expect(monolithic.status == 201)
        let manifest = Array("""
            {"schemaVersion":2,"mediaType":"\(PushTests.ociManifest)",\
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":\(config.count)},\
            "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\(layerDigest)","size":\(layer.count)}]}
            """.utf8)
        FileManager.default.createFile(atPath: files.manifest, contents: Data(manifest))
        let put = try await Curl.fetch(base + "/manifests/v1", h2 + ["-X", "PUT", "--data-binary", "@" + files.manifest,
                                                                     "-H", "Content-Type: \(PushTests.ociManifest)"], in: directory)
        #expect(put.status == 201, "\(String(decoding: put.body, as: UTF8.self))")

        let pulled = try await Curl.fetch(base + "/blobs/\(layerDigest)", h2, in: directory)
        #expect(pulled.status == 200 && pulled.httpVersion == "2" && pulled.body == layer)
        try await eventually(timeout: .seconds(30)) {
            try await TestHTTP.shared.get(secure.fixture.registry.url + "/v2/team/h2/manifests/v1",
                                          headers: [("Accept", PushTests.ociManifest)]).body == manifest
        }
        let upstreamLayer = try await TestHTTP.shared.get(secure.fixture.registry.url + "/v2/team/h2/blobs/\(layerDigest)")
        #expect(upstreamLayer.body == layer)
    }

    @Test("SIGHUP with a new certificate: new connections get it, an open download goes on")
    func certificateReload() async throws {
        let secure = try await Secure()
        defer { secure.shutdown() }
        let bytes = (0..<6_000_000).map { _ in UInt8.random(in: 0...255) }
        let digest = try await secure.fixture.seeder.pushBlob("team/app", bytes)
        #expect(try await TestCertificates.servedSerial(port: secure.port) == 1)
        // Cached first, then fetched slowly (2 MB/s) on an HTTP/2 connection that outlives the reload.
        _ = try await Curl.fetch(secure.fixture.url("team/app") + "/blobs/\(digest)", ["--cacert", secure.certificates.caPath],
                                 in: secure.workspace.path)
        let url = secure.fixture.url("team/app") + "/blobs/\(digest)"
        let arguments = ["--cacert", secure.certificates.caPath, "--http2", "--limit-rate", "2M"]
        let workspace = secure.workspace.path
        async let slow = Curl.fetch(url, arguments, in: workspace)
        try await Task.sleep(for: .milliseconds(700))
        let renewed = try await secure.certificates.issue("renewed", serial: 2)
        try FileManager.default.removeItem(atPath: secure.certificate.certificate)
        try FileManager.default.removeItem(atPath: secure.certificate.key)
        try FileManager.default.copyItem(atPath: renewed.certificate, toPath: secure.certificate.certificate)
        try FileManager.default.copyItem(atPath: renewed.key, toPath: secure.certificate.key)
        secure.fixture.layover.process?.send(signal: SIGHUP)
        try await eventually(timeout: .seconds(10)) { try await TestCertificates.servedSerial(port: secure.port) == 2 }
        let answer = try await slow
        #expect(answer.status == 200 && answer.body == bytes, "the open download broke on reload")
        #expect(secure.fixture.layover.process?.isRunning == true)

        // A broken file on reload: the previous certificate stays, and the log says why.
        try "not a certificate".write(toFile: secure.certificate.certificate, atomically: true, encoding: .utf8)
        secure.fixture.layover.process?.send(signal: SIGHUP)
        try await eventually(timeout: .seconds(10)) { secure.fixture.layover.log.contains("reload failed") }
        #expect(try await TestCertificates.servedSerial(port: secure.port) == 2)
    }

    @Test("h2: 50 concurrent streams on one connection, manifests and blobs mixed, all answered")
    func manyStreams() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [100_000, 1_500_000])
        let base = fixture.url("team/app")
        let urls = [base + "/manifests/\(image.manifestDigest)"] + image.layers.map { base + "/blobs/\($0.digest)" }
            + [base + "/blobs/\(image.configDigest)"]
        // Warm the cache, so the load measures the front rather than the upstream.
        for url in urls { _ = try await TestHTTP.shared.get(url) }
        let process = try TestProcess(executable: "/usr/bin/h2load", arguments: ["-n", "400", "-c", "1", "-m", "50"] + urls)
        #expect(try await process.waitForExit() == 0, "\(process.output)")
        #expect(process.output.contains("400 succeeded, 0 failed, 0 errored"), "\(process.output)")
        #expect(process.output.contains("status codes: 400 2xx"), "\(process.output)")
    }

    @Test("h2: an upload larger than the stream's and the connection's receive windows streams through, and is pulled back whole")
    func uploadBeyondTheWindows() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let workspace = try TemporaryDirectory()
        defer { workspace.remove() }
        // 24 MiB: three times the connection's window, 24 times a stream's.
        let blob = randomBytes(24 << 20)
        let file = workspace.path + "/blob"
        FileManager.default.createFile(atPath: file, contents: Data(blob))
        let digest = TestHTTP.digest(of: blob)
        let base = fixture.url("team/big")
        let pushed = try await Curl.fetch(base + "/blobs/uploads/?digest=\(digest)",
                                          ["--http2-prior-knowledge", "-X", "POST", "--data-binary", "@" + file], in: workspace.path)
        #expect(pushed.status == 201 && pushed.httpVersion == "2", "\(pushed.status) \(String(decoding: pushed.body, as: UTF8.self))")
        let pulled = try await TestHTTP.shared.streamedDigest(base + "/blobs/\(digest)")
        #expect(pulled.status == 200 && pulled.count == blob.count && pulled.digest == digest)
    }

    @Test("h2: a client gone while its request waits for the upstream; the late answer goes nowhere, and the server serves on")
    func clientGoneBeforeTheAnswer() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let digest = try await fixture.seeder.pushBlob("team/app", randomBytes(100_000))
        let port = fixture.port
        fixture.relay.pause()
        do {
            let connection = try RawHTTP2(port: port)
            connection.send(RawHTTP2.frame(type: RawHTTP2.FrameType.headers, flags: RawHTTP2.Flag.endStream | RawHTTP2.Flag.endHeaders,
                                           stream: 1, payload: RawHTTP2.get("/v2/up/team/app/blobs/\(digest)")))
            try await Task.sleep(for: .milliseconds(300))
        }
        // The connection is closed (the client dropped it); its request is still waiting.
        try await Task.sleep(for: .milliseconds(300))
        fixture.relay.resume()
        try await eventually { fixture.storedBlobs().contains(digest) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(fixture.layover.process?.isRunning == true, "\(fixture.layover.log.suffix(2000))")
        #expect(try await TestHTTP.shared.get(fixture.layover.url + "/v2/").status == 200)
    }

    @Test("h2: a client resetting a stream mid-blob; the connection and its other streams live on")
    func streamResetMidBlob() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let bytes = (0..<4_000_000).map { _ in UInt8.random(in: 0...255) }
        let digest = try await fixture.seeder.pushBlob("team/app", bytes)
        _ = try await TestHTTP.shared.get(fixture.url("team/app") + "/blobs/\(digest)")
        let port = fixture.port
        var connection = try RawHTTP2(port: port)
        connection.send(RawHTTP2.frame(type: RawHTTP2.FrameType.headers, flags: RawHTTP2.Flag.endStream | RawHTTP2.Flag.endHeaders,
                                       stream: 1, payload: RawHTTP2.get("/v2/up/team/app/blobs/\(digest)")))
        var blobBytes = 0
        while blobBytes == 0, let frame = connection.next() {
            if frame.type == RawHTTP2.FrameType.data, frame.stream == 1 { blobBytes += frame.payload.count }
        }
        #expect(blobBytes > 0)
        // RST_STREAM(CANCEL) mid-body, then a new request on the same connection.
        connection.send(RawHTTP2.frame(type: RawHTTP2.FrameType.rstStream, stream: 1, payload: [0, 0, 0, 8]))
        connection.send(RawHTTP2.frame(type: RawHTTP2.FrameType.headers, flags: RawHTTP2.Flag.endStream | RawHTTP2.Flag.endHeaders,
                                       stream: 3, payload: RawHTTP2.get("/v2/")))
        var answer: [UInt8] = []
        var ended = false
        while !ended, let frame = connection.next() {
            #expect(frame.type != RawHTTP2.FrameType.goAway, "the connection was torn down")
            if frame.type == RawHTTP2.FrameType.data, frame.stream == 3 {
                answer += frame.payload
                ended = frame.flags & RawHTTP2.Flag.endStream != 0
            }
        }
        #expect(ended && answer == Array("{}".utf8))
        #expect(fixture.layover.process?.isRunning == true)
    }
}
