import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import Testing
@testable import LayoverHTTP

@Suite("StreamCodec")
struct StreamCodecTests {
    @Test("an HTTP/2 answer's x-request-id goes out never added to the HPACK table; its other headers stay indexable")
    func requestIDIsNotIndexed() throws {
        let channel = try Self.channel()
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/vnd.oci.image.manifest.v1+json")
        headers.add(name: "Docker-Content-Digest", value: "sha256:" + String(repeating: "a", count: 64))
        headers.add(name: "X-Request-Id", value: "2c0e0dd4b97ddf94")
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http2, status: .ok, headers: headers)))
        guard case .headers(let frame)? = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) else {
            Issue.record("no HEADERS frame")
            return
        }
        let indexing = Dictionary(frame.headers.map { ($0.name, $0.indexable) }, uniquingKeysWith: { first, _ in first })
        #expect(indexing["x-request-id"] == .nonIndexable)
        #expect(indexing["content-type"] == .indexable)
        #expect(indexing["docker-content-digest"] == .indexable)
        #expect(frame.headers[":status"] == ["200"])
        #expect(frame.headers["x-request-id"] == ["2c0e0dd4b97ddf94"])
        _ = try channel.finish()
    }

    static func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(StreamCodec())
        return channel
    }

    static func head() -> HTTPServerResponsePart {
        .head(HTTPResponseHead(version: .http2, status: .ok, headers: ["Content-Length": "4"]))
    }

    /// The frames written, as "HEADERS"/"DATA n" with " END" when they end the stream.
    static func frames(_ channel: EmbeddedChannel) throws -> [String] {
        var seen: [String] = []
        while let payload = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) {
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
        let channel = try Self.channel()
        let written = channel.eventLoop.makePromise(of: Void.self)
        let ended = channel.eventLoop.makePromise(of: Void.self)
        channel.write(Self.head(), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "body"))), promise: written)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: ended)
        #expect(try Self.frames(channel) == ["HEADERS", "DATA 4 END"])
        try written.futureResult.wait()
        try ended.futureResult.wait()
        _ = try channel.finish()
    }

    @Test("an answer without a body (HEAD, 304) is one HEADERS frame that ends the stream")
    func endRidesOnTheHeaders() throws {
        let channel = try Self.channel()
        channel.write(Self.head(), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        #expect(try Self.frames(channel) == ["HEADERS END"])
        _ = try channel.finish()
    }

    @Test("a streamed answer, flushed piece by piece, goes out as written: nothing waits for the end")
    func flushesWriteWhatIsHeld() throws {
        let channel = try Self.channel()
        channel.writeAndFlush(Self.head(), promise: nil)
        #expect(try Self.frames(channel) == ["HEADERS"])
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "body"))), promise: nil)
        #expect(try Self.frames(channel) == ["DATA 4"])
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        #expect(try Self.frames(channel) == ["DATA 0 END"])
        _ = try channel.finish()
    }

    @Test("an answer's names go out in lower case, without the headers HTTP/2 forbids; :status first")
    func answerHeadersAreHTTP2() throws {
        let channel = try Self.channel()
        let headers: HTTPHeaders = ["Content-Type": "text/plain", "Connection": "close", "Keep-Alive": "timeout=5",
                                    "Transfer-Encoding": "chunked", "docker-distribution-api-version": "registry/2.0"]
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http2, status: .notFound, headers: headers)), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        guard case .headers(let frame)? = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) else {
            Issue.record("no HEADERS frame")
            return
        }
        #expect(frame.headers.map(\.name) == [":status", "content-type", "docker-distribution-api-version"])
        #expect(frame.headers[":status"] == ["404"])
        #expect(frame.endStream)
        _ = try channel.finish()
    }

    @Test("names lower-cased from constants are the names lower-cased", arguments: [
        "Content-Type", "Content-Length", "Docker-Content-Digest", "ETag", "X-Request-Id", "Docker-Distribution-API-Version",
        "Accept-Ranges", "location", "WWW-Authenticate",
    ])
    func lowercasedNames(_ name: String) {
        #expect(StreamCodec.lowercased(name) == name.lowercased())
    }

    @Test("trailers end the stream in a HEADERS frame of their own")
    func trailersEndTheStream() throws {
        let channel = try Self.channel()
        channel.write(Self.head(), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "body"))), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(["Digest": "x"]), promise: nil)
        #expect(try Self.frames(channel) == ["HEADERS", "DATA 4", "HEADERS END"])
        _ = try channel.finish()
    }

    /// The parts a request's frames became.
    static func parts(_ channel: EmbeddedChannel) throws -> [HTTPServerRequestPart] {
        var parts: [HTTPServerRequestPart] = []
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) { parts.append(part) }
        return parts
    }

    static func block(_ method: String, _ extra: [(String, String)] = []) -> HPACKHeaders {
        HPACKHeaders([(":method", method), (":scheme", "https"), (":authority", "cache.example:5000"),
                      (":path", "/v2/app/manifests/latest")] + extra)
    }

    @Test("a request's HEADERS that end the stream are its head and end: pseudo-headers become method, target and host")
    func requestHeadFromHeaders() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: Self.block("GET", [("accept", "*/*")]), endStream: true)))
        let parts = try Self.parts(channel)
        #expect(parts.count == 2)
        guard case .head(let head)? = parts.first, case .end(nil)? = parts.last else {
            Issue.record("not a head and an end: \(parts)")
            return
        }
        #expect(head.method == .GET)
        #expect(head.uri == "/v2/app/manifests/latest")
        #expect(head.version == .http2)
        #expect(head.headers["host"] == ["cache.example:5000"])
        #expect(head.headers["accept"] == ["*/*"])
        #expect(!head.headers.contains(name: ":path"))
        #expect(!head.headers.contains(name: "transfer-encoding"))
        _ = try channel.finish()
    }

    @Test("an upload's body comes as body parts, its end with the last DATA; without a length it is chunked, as in HTTP/1.1")
    func uploadBody() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: Self.block("PATCH"))))
        try channel.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "abc")))))
        try channel.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "de")), endStream: true)))
        let parts = try Self.parts(channel)
        guard parts.count == 4, case .head(let head) = parts[0], case .body(let first) = parts[1], case .body(let second) = parts[2],
              case .end(nil) = parts[3] else {
            Issue.record("not head, body, body, end: \(parts)")
            return
        }
        #expect(head.method == .PATCH)
        #expect(head.headers["transfer-encoding"] == ["chunked"])
        #expect(first == ByteBuffer(string: "abc"))
        #expect(second == ByteBuffer(string: "de"))
        _ = try channel.finish()
    }

    @Test("a POST whose head ends the stream has content-length 0; a later HEADERS is the trailers, and ends the request")
    func emptyPostAndTrailers() throws {
        let channel = try Self.channel()
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: Self.block("POST"), endStream: true)))
        guard case .head(let head)? = try Self.parts(channel).first else {
            Issue.record("no head")
            return
        }
        #expect(head.headers["content-length"] == ["0"])

        let upload = try Self.channel()
        try upload.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: Self.block("PUT", [("content-length", "2")]))))
        try upload.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "ab")))))
        try upload.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([("x-trailer", "1")]), endStream: true)))
        let parts = try Self.parts(upload)
        guard parts.count == 3, case .head(let put) = parts[0], case .end(let trailers?) = parts[2] else {
            Issue.record("not head, body, end with trailers: \(parts)")
            return
        }
        #expect(put.headers["content-length"] == ["2"])
        #expect(!put.headers.contains(name: "transfer-encoding"))
        #expect(trailers["x-trailer"] == ["1"])
        _ = try channel.finish()
        _ = try upload.finish()
    }

    @Test("a header block without :path is an error on the stream, and no request reaches the handler")
    func missingPathIsAnError() throws {
        let channel = try Self.channel()
        #expect(throws: StreamCodec.MissingPseudoHeader.self) {
            try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([(":method", "GET"), (":scheme", "https")]))))
        }
        #expect(try Self.parts(channel).isEmpty)
        _ = try channel.finish()
    }
}
