import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import Testing
@testable import LayoverHTTP

@Suite("UnindexedRequestID")
struct UnindexedRequestIDTests {
    @Test("an HTTP/2 answer's x-request-id goes out never added to the HPACK table; its other headers stay indexable")
    func requestIDIsNotIndexed() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(UnindexedRequestID())
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

    @Test("other frames pass unchanged")
    func otherFramesPass() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(UnindexedRequestID())
        try channel.writeOutbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "body")))))
        guard case .data(let data)? = try channel.readOutbound(as: HTTP2Frame.FramePayload.self), case .byteBuffer(let bytes) = data.data else {
            Issue.record("no DATA frame")
            return
        }
        #expect(bytes == ByteBuffer(string: "body"))
        _ = try channel.finish()
    }
}
