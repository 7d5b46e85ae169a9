import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import Testing
@testable import LayoverHTTP

/// What an HTTP/2 stream's answer parts become (`AnswerFraming`), and its request's header
/// blocks (`HTTP2Request`).
@Suite("HTTP/2 framing")
struct AnswerFramingTests {
    /// Parts written as `HTTP2Exchange` writes them: each write's frames, and a flush's held one.
    final class Answer {
        let loop = EmbeddedEventLoop()
        private var framing = AnswerFraming()
        private var out: [AnswerFraming.Frame] = []

        func write(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>? = nil) {
            let (first, second) = framing.write(part, promise: promise)
            out += [first, second].compactMap { $0 }
        }

        func flush() {
            if let held = framing.release() { out.append(held) }
        }

        func writeAndFlush(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>? = nil) {
            write(part, promise: promise)
            flush()
        }

        /// The payloads written so far, in order (their promises succeeded, as a transport would).
        func readOutbound() -> HTTP2Frame.FramePayload? {
            guard !out.isEmpty else { return nil }
            let frame = out.removeFirst()
            frame.promise?.succeed()
            return frame.payload
        }
    }

    @Test("an HTTP/2 answer's x-request-id goes out never added to the HPACK table; its other headers stay indexable")
    func requestIDIsNotIndexed() throws {
        let channel = Answer()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/vnd.oci.image.manifest.v1+json")
        headers.add(name: "Docker-Content-Digest", value: "sha256:" + String(repeating: "a", count: 64))
        headers.add(name: "X-Request-Id", value: "2c0e0dd4b97ddf94")
        channel.writeAndFlush(HTTPServerResponsePart.head(HTTPResponseHead(version: .http2, status: .ok, headers: headers)))
        guard case .headers(let frame)? = channel.readOutbound() else {
            Issue.record("no HEADERS frame")
            return
        }
        let indexing = Dictionary(frame.headers.map { ($0.name, $0.indexable) }, uniquingKeysWith: { first, _ in first })
        #expect(indexing["x-request-id"] == .nonIndexable)
        #expect(indexing["content-type"] == .indexable)
        #expect(indexing["docker-content-digest"] == .indexable)
        #expect(frame.headers[":status"] == ["200"])
        #expect(frame.headers["x-request-id"] == ["2c0e0dd4b97ddf94"])
    }

    static func head() -> HTTPServerResponsePart {
        .head(HTTPResponseHead(version: .http2, status: .ok, headers: ["Content-Length": "4"]))
    }

    /// The frames written, as "HEADERS"/"DATA n" with " END" when they end the stream.
    static func frames(_ channel: Answer) throws -> [String] {
        var seen: [String] = []
        while let payload = channel.readOutbound() {
            switch payload {
            case .headers(let headers): seen.append("HEADERS" + (headers.endStream ? " END" : ""))
            case .data(let data): seen.append("DATA \(data.data.readableBytes)" + (data.endStream ? " END" : ""))
            default: seen.append("other")
            }
        }
        return seen
    }

    @Test("an answer written whole (head, body, end, then a flush) is two frames: the body's DATA ends the stream")
    func endRidesOnTheBody() throws {
        let channel = Answer()
        let written = channel.loop.makePromise(of: Void.self)
        let ended = channel.loop.makePromise(of: Void.self)
        channel.write(Self.head(), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "body"))), promise: written)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: ended)
        #expect(try Self.frames(channel) == ["HEADERS", "DATA 4 END"])
        try written.futureResult.wait()
        try ended.futureResult.wait()
    }

    @Test("an answer without a body (HEAD, 304) is one HEADERS frame that ends the stream")
    func endRidesOnTheHeaders() throws {
        let channel = Answer()
        channel.write(Self.head(), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        #expect(try Self.frames(channel) == ["HEADERS END"])
    }

    @Test("a streamed answer, flushed piece by piece, goes out as written: nothing waits for the end")
    func flushesWriteWhatIsHeld() throws {
        let channel = Answer()
        channel.writeAndFlush(Self.head(), promise: nil)
        #expect(try Self.frames(channel) == ["HEADERS"])
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "body"))), promise: nil)
        #expect(try Self.frames(channel) == ["DATA 4"])
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        #expect(try Self.frames(channel) == ["DATA 0 END"])
    }

    @Test("an answer's names go out in lower case, without the headers HTTP/2 forbids; :status first")
    func answerHeadersAreHTTP2() throws {
        let channel = Answer()
        let headers: HTTPHeaders = ["Content-Type": "text/plain", "Connection": "close", "Keep-Alive": "timeout=5",
                                    "Transfer-Encoding": "chunked", "docker-distribution-api-version": "registry/2.0"]
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http2, status: .notFound, headers: headers)), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        guard case .headers(let frame)? = channel.readOutbound() else {
            Issue.record("no HEADERS frame")
            return
        }
        #expect(frame.headers.map(\.name) == [":status", "content-type", "docker-distribution-api-version"])
        #expect(frame.headers[":status"] == ["404"])
        #expect(frame.endStream)
    }

    @Test("names lower-cased from constants are the names lower-cased", arguments: [
        "Content-Type", "Content-Length", "Docker-Content-Digest", "ETag", "X-Request-Id", "Docker-Distribution-API-Version",
        "Accept-Ranges", "location", "WWW-Authenticate",
    ])
    func lowercasedNames(_ name: String) {
        #expect(AnswerFraming.lowercased(name) == name.lowercased())
    }

    @Test("trailers end the stream in a HEADERS frame of their own")
    func trailersEndTheStream() throws {
        let channel = Answer()
        channel.write(Self.head(), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "body"))), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(["Digest": "x"]), promise: nil)
        #expect(try Self.frames(channel) == ["HEADERS", "DATA 4", "HEADERS END"])
    }

    static func block(_ method: String, _ extra: [(String, String)] = []) -> HPACKHeaders {
        HPACKHeaders([(":method", method), (":scheme", "https"), (":authority", "cache.example:5000"),
                      (":path", "/v2/app/manifests/latest")] + extra)
    }

    @Test("a request's header block is its head: pseudo-headers become method, target and host")
    func requestHeadFromHeaders() throws {
        let head = try HTTP2Request.head(Self.block("GET", [("accept", "*/*")]), endStream: true)
        #expect(head.method == .GET)
        #expect(head.uri == "/v2/app/manifests/latest")
        #expect(head.version == .http2)
        #expect(head.headers["host"] == ["cache.example:5000"])
        #expect(head.headers["accept"] == ["*/*"])
        #expect(!head.headers.contains(name: ":path"))
        #expect(!head.headers.contains(name: "transfer-encoding"))
    }

    @Test("an upload without a length is chunked, as in HTTP/1.1; one whose head ends the stream has content-length 0; a length stays")
    func uploadLengths() throws {
        #expect(try HTTP2Request.head(Self.block("PATCH"), endStream: false).headers["transfer-encoding"] == ["chunked"])
        let empty = try HTTP2Request.head(Self.block("POST"), endStream: true)
        #expect(empty.headers["content-length"] == ["0"])
        let put = try HTTP2Request.head(Self.block("PUT", [("content-length", "2")]), endStream: false)
        #expect(put.headers["content-length"] == ["2"])
        #expect(!put.headers.contains(name: "transfer-encoding"))
    }

    @Test("malformed request blocks are refused", arguments: [
        [(":method", "GET"), (":scheme", "https")],
        [(":method", "GET"), (":scheme", "https"), (":path", "")],
        [(":method", "GET"), (":method", "GET"), (":scheme", "https"), (":path", "/v2/")],
        [(":method", "GET"), (":scheme", "https"), ("accept", "*/*"), (":path", "/v2/")],
        [(":method", "GET"), (":scheme", "https"), (":path", "/v2/"), (":protocol", "websocket")],
        [(":method", "GET"), (":scheme", "https"), (":path", "/v2/ HTTP/1.1")],
        [(":method", "GET"), (":scheme", "https"), (":path", "/v2/"), ("Accept", "*/*")],
        [(":method", "GET"), (":scheme", "https"), (":path", "/v2/"), ("x-a", "1\r\nx-b: 2")],
        [(":method", "GET"), (":scheme", "https"), (":path", "/v2/"), ("x a", "1")],
        [(":method", "GET"), (":scheme", "https"), (":path", "/v2/"), ("connection", "close")],
        [(":method", "GET"), (":scheme", "https"), (":path", "/v2/"), ("te", "gzip")],
    ])
    func malformedBlocks(_ fields: [(String, String)]) {
        #expect(throws: HTTP2Request.MalformedBlock.self) { try HTTP2Request.head(HPACKHeaders(fields), endStream: true) }
    }

    @Test("what RFC 9113 lets a request carry is accepted: te: trailers, obs-text and spaces inside a value")
    func wellFormedBlock() throws {
        let head = try HTTP2Request.head(Self.block("GET", [("te", "trailers"), ("user-agent", "büildkit 0.12 (linux)")]), endStream: true)
        #expect(head.headers["user-agent"] == ["büildkit 0.12 (linux)"])
    }
}
