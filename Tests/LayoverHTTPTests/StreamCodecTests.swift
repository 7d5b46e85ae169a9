import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import Testing
@testable import LayoverHTTP

@Suite("AnswerFrames")
struct AnswerFramesTests {
    @Test("an HTTP/2 answer's x-request-id goes out never added to the HPACK table; its other headers stay indexable")
    func requestIDIsNotIndexed() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(AnswerFrames())
        try channel.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
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
        try channel.pipeline.syncOperations.addHandler(AnswerFrames())
        try channel.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
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

    @Test("other frames pass unchanged")
    func otherFramesPass() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(AnswerFrames())
        try channel.writeOutbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "body")))))
        guard case .data(let data)? = try channel.readOutbound(as: HTTP2Frame.FramePayload.self), case .byteBuffer(let bytes) = data.data else {
            Issue.record("no DATA frame")
            return
        }
        #expect(bytes == ByteBuffer(string: "body"))
        _ = try channel.finish()
    }
}
