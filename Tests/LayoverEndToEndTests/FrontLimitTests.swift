import Foundation
import LayoverTestSupport
import Testing

/// What one client may cost the front: header and idle timeouts, head size, upload size and
/// sessions, and bad input at the TLS and HTTP/2 layers; each costs only its own connection.
@Suite("Front limits and bad input", .endToEnd)
struct FrontLimitTests {
    /// A fixture whose config file holds `yaml` (e.g. a `limits:` section), with more flags.
    static func fixture(_ yaml: String, arguments: [String] = []) async throws -> (Fixture, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/layover.yml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return (try await Fixture(layoverArguments: ["--config", path] + arguments), directory)
    }

    @Test("a slowloris client is cut at the header timeout while a normal client is answered")
    func slowloris() async throws {
        let (fixture, directory) = try await Self.fixture("limits:\n  headerTimeoutSeconds: 2\n")
        defer { fixture.shutdown(); directory.remove() }
        let port = fixture.port
        let started = ContinuousClock.now
        async let cut = onThread { () -> Duration in
            let slow = try RawHTTP(port: port)
            slow.write("GET /v2/ HTTP/1.1\r\n")
            // One header line a second, never the blank line that ends the head.
            while slow.write("X-Slow: x\r\n") { usleep(500_000) }
            return ContinuousClock.now - started
        }
        for _ in 0..<5 {
            #expect(try await TestHTTP.shared.get(fixture.layover.url + "/v2/").status == 200)
            try await Task.sleep(for: .milliseconds(200))
        }
        let elapsed = try await cut
        // The cut shows at the write after the next one; a loaded machine adds its share.
        #expect(elapsed >= .seconds(1.5) && elapsed < .seconds(12), "cut after \(elapsed)")
    }

    @Test("an idle keep-alive connection is closed after the idle timeout; a quiet one inside a request head is not mistaken for idle")
    func idleTimeout() async throws {
        let (fixture, directory) = try await Self.fixture("limits:\n  idleTimeoutSeconds: 2\n  headerTimeoutSeconds: 30\n")
        defer { fixture.shutdown(); directory.remove() }
        let port = fixture.port
        let elapsed = try await onThread { () -> Duration in
            let connection = try RawHTTP(port: port)
            connection.write("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = connection.readAll()
            let started = ContinuousClock.now
            while connection.readSome() != nil {}
            return ContinuousClock.now - started
        }
        #expect(elapsed >= .seconds(1.5) && elapsed < .seconds(5), "closed after \(elapsed)")
    }

    @Test("a request head over maxHeaderBytes is 431 with an OCI error; malformed HTTP is 400 with one")
    func headerSize() async throws {
        let (fixture, directory) = try await Self.fixture("limits:\n  maxHeaderBytes: 8KiB\n")
        defer { fixture.shutdown(); directory.remove() }
        let port = fixture.port
        let (large, garbage) = try await onThread { () -> (String, String) in
            let large = try RawHTTP(port: port)
            large.write("GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 10_000))\r\n\r\n")
            let garbage = try RawHTTP(port: port)
            garbage.write("\u{1}\u{2} nonsense \r\n\r\n")
            return (large.readAll(), garbage.readAll())
        }
        #expect(RawHTTP.status(of: large) == 431 && large.contains("\"UNSUPPORTED\""), "\(large)")
        #expect(RawHTTP.status(of: garbage) == 400 && garbage.contains("\"errors\""), "\(garbage)")
        let fine = try await TestHTTP.shared.get(fixture.layover.url + "/v2/", headers: [("X-Small", String(repeating: "a", count: 4000))])
        #expect(fine.status == 200)
    }

    @Test("uploads: maxUploadBytes answers 413 and frees the bytes; one client past maxUploadSessionsPerClient gets 429")
    func uploadLimits() async throws {
        let (fixture, directory) = try await Self.fixture("maxUploadSessionsPerClient: 3\nlimits:\n  maxUploadBytes: 100000\n")
        defer { fixture.shutdown(); directory.remove() }
        let base = fixture.url("team/app")
        let big = (0..<150_000).map { _ in UInt8.random(in: 0...255) }
        let refused = try await TestHTTP.shared.send(.POST, base + "/blobs/uploads/?digest=\(TestHTTP.digest(of: big))", body: big)
        #expect(refused.status == 413 && refused.text.contains("SIZE_INVALID"), "\(refused.text)")
        try await eventually { fixture.ingestFiles().isEmpty }
        let small = (0..<50_000).map { _ in UInt8.random(in: 0...255) }
        let accepted = try await TestHTTP.shared.send(.POST, base + "/blobs/uploads/?digest=\(TestHTTP.digest(of: small))", body: small)
        #expect(accepted.status == 201)

        var statuses: [Int] = []
        for _ in 0..<4 { statuses.append(try await TestHTTP.shared.send(.POST, base + "/blobs/uploads/").status) }
        #expect(statuses == [202, 202, 202, 429])
    }

    @Test("TLS: garbage instead of a ClientHello and a handshake that never finishes cost only their connections")
    func badTLS() async throws {
        let workspace = try TemporaryDirectory()
        defer { workspace.remove() }
        let certificates = try await TestCertificates(directory: workspace.path)
        let certificate = try await certificates.issue("server", serial: 1)
        let (fixture, directory) = try await Self.fixture(
            "limits:\n  headerTimeoutSeconds: 2\n", arguments: ["--tls-cert", certificate.certificate, "--tls-key", certificate.key])
        defer { fixture.shutdown(); directory.remove() }
        let port = fixture.port
        let (garbageClosed, silentFor) = try await onThread { () -> (Bool, Duration) in
            let garbage = try RawHTTP(port: port)
            garbage.write("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
            var garbageClosed = false
            while let bytes = garbage.readSome() { _ = bytes }
            garbageClosed = true
            let silent = try RawHTTP(port: port)
            silent.write([0x16, 0x03, 0x01, 0x00, 0x80])   // a ClientHello's record header, and nothing more
            let started = ContinuousClock.now
            while silent.readSome() != nil {}
            return (garbageClosed, ContinuousClock.now - started)
        }
        #expect(garbageClosed)
        #expect(silentFor >= .seconds(1.5) && silentFor < .seconds(6), "closed after \(silentFor)")
        let answer = try await Curl.fetch(fixture.layover.url + "/v2/", ["--cacert", certificates.caPath], in: workspace.path)
        #expect(answer.status == 200)
    }

    @Test("h2: frames that break the protocol get GOAWAY with the right error; an endless header block is refused; the server serves on")
    func badHTTP2() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let port = fixture.port
        let (codes, hugeRefused) = try await onThread { () -> ([UInt32?], Bool) in
            // A WINDOW_UPDATE of 0 on the connection is a PROTOCOL_ERROR (RFC 9113 §6.9); a SETTINGS
            // frame whose length is not a multiple of 6 a FRAME_SIZE_ERROR (§6.5). The first GOAWAY
            // counts (frames the test still sends after it may draw another).
            var codes: [UInt32?] = []
            for violation in [RawHTTP2.frame(type: RawHTTP2.FrameType.windowUpdate, stream: 0, payload: [0, 0, 0, 0]),
                              RawHTTP2.frame(type: RawHTTP2.FrameType.settings, stream: 0, payload: [0, 3, 0, 0, 0])] {
                var broken = try RawHTTP2(port: port)
                broken.send(violation)
                var code: UInt32?
                while let frame = broken.next() {
                    if frame.type == RawHTTP2.FrameType.goAway, frame.payload.count >= 8, code == nil {
                        code = frame.payload[4..<8].reduce(0) { $0 << 8 | UInt32($1) }
                    }
                }
                codes.append(code)
            }
            // A header block of 1 MiB in CONTINUATION frames, far past the 64 KiB limit.
            var huge = try RawHTTP2(port: port)
            let block = RawHTTP2.headerBlock([(":method", "GET"), (":scheme", "http"), (":authority", "x"), (":path", "/v2/")]
                + (0..<64).map { ("x-filler-\($0)", String(repeating: "a", count: 16_000)) })
            var chunks = stride(from: 0, to: block.count, by: 16_000).map { Array(block[$0..<min($0 + 16_000, block.count)]) }
            let first = chunks.removeFirst()
            var sent = huge.send(RawHTTP2.frame(type: RawHTTP2.FrameType.headers, flags: RawHTTP2.Flag.endStream, stream: 1, payload: first))
            for (index, chunk) in chunks.enumerated() where sent {
                let last = index == chunks.count - 1
                sent = huge.send(RawHTTP2.frame(type: RawHTTP2.FrameType.continuation, flags: last ? RawHTTP2.Flag.endHeaders : 0,
                                                stream: 1, payload: chunk))
            }
            var refused = !sent
            while let frame = huge.next() {
                if frame.type == RawHTTP2.FrameType.goAway || frame.type == RawHTTP2.FrameType.rstStream { refused = true }
                #expect(!(frame.type == RawHTTP2.FrameType.headers && frame.stream == 1), "a 1 MiB header block was answered")
            }
            return (codes, refused)
        }
        #expect(codes == [1, 6], "GOAWAY error codes \(codes)")
        #expect(hugeRefused)
        #expect(try await TestHTTP.shared.get(fixture.layover.url + "/v2/").status == 200)
        #expect(fixture.layover.process?.isRunning == true)
    }
    /// Sends `broken` (frames of stream 1), then a GET of `/v2/` on stream 3, on one h2c
    /// connection; reads until stream 3 ends. Returns stream 1's RST_STREAM code, whether stream 3
    /// was answered, and whether stream 1 got an answer's HEADERS.
    static func brokenThenNext(port: Int, _ broken: [[UInt8]]) async throws -> (reset: UInt32?, answered: Bool, brokenAnswered: Bool) {
        try await onThread {
            var connection = try RawHTTP2(port: port)
            for frame in broken { connection.send(frame) }
            connection.send(RawHTTP2.frame(type: RawHTTP2.FrameType.headers, flags: RawHTTP2.Flag.endStream | RawHTTP2.Flag.endHeaders,
                                           stream: 3, payload: RawHTTP2.get("/v2/")))
            var reset: UInt32?
            var answered = false, brokenAnswered = false
            while !answered, let frame = connection.next() {
                #expect(frame.type != RawHTTP2.FrameType.goAway, "the connection was torn down")
                if frame.type == RawHTTP2.FrameType.headers, frame.stream == 1 { brokenAnswered = true }
                if frame.type == RawHTTP2.FrameType.rstStream, frame.stream == 1 {
                    reset = frame.payload.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
                }
                if frame.stream == 3, frame.flags & RawHTTP2.Flag.endStream != 0 { answered = true }
            }
            return (reset, answered, brokenAnswered)
        }
    }

    @Test("h2: a header block with CR LF in a value resets its stream only (PROTOCOL_ERROR); the next stream is answered")
    func malformedHeaderBlock() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let forged = RawHTTP2.headerBlock([(":method", "GET"), (":scheme", "http"), (":authority", "x"), (":path", "/v2/"),
                                           ("x-forged", "a\r\nauthorization: Basic YTpi")])
        let seen = try await Self.brokenThenNext(port: fixture.port, [
            RawHTTP2.frame(type: RawHTTP2.FrameType.headers, flags: RawHTTP2.Flag.endStream | RawHTTP2.Flag.endHeaders, stream: 1, payload: forged),
        ])
        #expect(seen.reset == 1, "RST_STREAM code \(String(describing: seen.reset))")
        #expect(seen.answered)
        #expect(!seen.brokenAnswered, "the malformed request was answered")
    }

    @Test("h2: a body longer than its content-length resets its stream only; the connection's next stream is answered")
    func streamErrorCostsTheStream() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let post = RawHTTP2.headerBlock([(":method", "POST"), (":scheme", "http"), (":authority", "x"),
                                         (":path", "/v2/up/team/app/blobs/uploads/"), ("content-length", "2")])
        let seen = try await Self.brokenThenNext(port: fixture.port, [
            RawHTTP2.frame(type: RawHTTP2.FrameType.headers, flags: RawHTTP2.Flag.endHeaders, stream: 1, payload: post),
            RawHTTP2.frame(type: RawHTTP2.FrameType.data, flags: RawHTTP2.Flag.endStream, stream: 1, payload: Array("longer".utf8)),
        ])
        #expect(seen.reset == 1, "RST_STREAM code \(String(describing: seen.reset))")
        #expect(seen.answered)
        #expect(fixture.layover.process?.isRunning == true)
    }
}
