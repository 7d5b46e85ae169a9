import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import LayoverHTTP

/// The front's HTTP/1.1 connection: requests taken up one at a time and in order, the read
/// interest kept while the one request in hand is answered (no `epoll_ctl` pair per request) and
/// held while a pipelined request waits or a body's reader is behind; answers framed as HTTP/1.1
/// asks; input the decoder refuses answered with an OCI error.
@Suite("HTTP/1.1 connection")
struct HTTP1ConnectionTests {
    /// Counts the `read()` calls that reach the socket.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = NIOAny
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    /// Holds every request: the answer is written only when the test says so.
    final class Holder: HTTP1Requests {
        var requests: [Request] = []
        var uris: [String] { requests.map(\.uri) }
        func request(_ head: HTTPRequestHead, body: RequestBody, remoteAddress: SocketAddress?) -> Request {
            Request(head: head, body: body, remoteAddress: remoteAddress)
        }
        func answer(_ request: Request, on channel: any Channel, transport: ResponseWriter.Transport, loopExecutor: EventLoopTaskExecutor) {
            requests.append(request)
        }
    }

    static func channel(maxHeaderBytes: Int = 64 << 10) throws -> (EmbeddedChannel, ReadCounter, Holder) {
        let channel = EmbeddedChannel()
        let counter = ReadCounter(), holder = Holder()
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(counter)
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = maxHeaderBytes
        try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop,
                                                                    limitConfiguration: limits)))
        let deadline = ConnectionDeadline(channel: channel, headerTimeout: .seconds(10), idleTimeout: .seconds(120))
        try sync.addHandler(HTTP1Connection(requests: holder, sendfile: false, deadline: deadline, maxHeaderBytes: maxHeaderBytes))
        return (channel, counter, holder)
    }

    static func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    /// Writes an answer as `ResponseWriter` does: head, body pieces, end.
    static func answer(_ channel: EmbeddedChannel, status: HTTPResponseStatus = .ok, headers: [(String, String)] = [("Content-Length", "0")],
                       body: [String] = []) throws {
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: HTTPHeaders(headers))))
        for piece in body { try channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(bytes(piece)))) }
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
    }

    /// Every byte written to the socket so far, as text.
    static func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { Issue.record("a file region in a test answer"); continue }
            text += String(buffer: buffer)
        }
        return text
    }

    @Test("a read asked for while the one complete request is answered reaches the socket")
    func keepsReading() throws {
        let (channel, counter, holder) = try Self.channel()
        try channel.writeInbound(Self.bytes("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"))
        channel.read()  // NIO's own read once a read completes
        #expect(holder.uris == ["/a"])
        #expect(counter.reads == 1, "reads asked for while answering: \(counter.reads)")
    }

    @Test("a pipelined request waits for the answer before it, and holds the reads until it is taken up")
    func pipelinedWaits() throws {
        let (channel, counter, holder) = try Self.channel()
        try channel.writeInbound(Self.bytes("GET /a HTTP/1.1\r\nHost: t\r\n\r\nHEAD /b HTTP/1.1\r\nHost: t\r\n\r\n"))
        try channel.writeInbound(Self.bytes("GET /c HTTP/1.1\r\nHost: t\r\n\r\n"))
        channel.read()
        #expect(holder.uris == ["/a"])
        #expect(counter.reads == 0, "requests are waiting: no more reads")
        try Self.answer(channel)
        #expect(holder.uris == ["/a", "/b"], "the next request follows the first answer, one at a time")
        #expect(counter.reads == 0, "one request still waits")
        try Self.answer(channel, headers: [("Content-Length", "5")])
        #expect(holder.uris == ["/a", "/b", "/c"])
        #expect(counter.reads == 1, "nothing waits: the held read goes out")
        try Self.answer(channel)
        let text = try Self.written(channel)
        #expect(text == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    }

    @Test("a pipelined request with a body, taken up when the answer before it ends, is fed its whole body")
    func pipelinedBody() async throws {
        let (channel, counter, holder) = try Self.channel()
        try channel.writeInbound(Self.bytes("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"))
        // The client has the first answer's bytes before its end is written here (a streamed
        // answer whose last piece is still to come) and sends its next request at once.
        try channel.writeInbound(Self.bytes("PUT /u HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234"))
        try channel.writeInbound(Self.bytes("56789"))
        channel.read()
        #expect(counter.reads == 0, "a request waits: reads held")
        try Self.answer(channel)
        #expect(holder.uris == ["/a", "/u"])
        try #require(counter.reads == 1, "the body's pieces follow its head: nothing waits, the held read goes out")
        let body = try await holder.requests[1].body.collect(upTo: 100)
        #expect(String(buffer: body) == "0123456789")
        try Self.answer(channel, status: .created)
        #expect(try Self.written(channel) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    }

    @Test("a body whose reader is behind holds the reads; the body's request is taken up at its head")
    func bodyBackpressure() throws {
        let (channel, counter, holder) = try Self.channel()
        try channel.writeInbound(Self.bytes("PUT /u HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"))
        #expect(holder.uris == ["/u"])
        channel.read()
        #expect(counter.reads == 1)
        for _ in 0..<10 { try channel.writeInbound(Self.bytes("0123456789")) }
        channel.read()
        #expect(counter.reads == 1, "ten pieces unread, over the high watermark: reads held")
    }

    @Test("an answer without a length is chunked; a HEAD answer keeps its headers and has no body")
    func framing() throws {
        let (channel, _, _) = try Self.channel()
        try channel.writeInbound(Self.bytes("GET /a HTTP/1.1\r\nHost: t\r\n\r\nHEAD /b HTTP/1.1\r\nHost: t\r\n\r\n"))
        try Self.answer(channel, headers: [("X", "a: b\tc")], body: ["abc", "", "defgh"])
        try Self.answer(channel, headers: [("Content-Length", "8")], body: [])
        #expect(try Self.written(channel) == "HTTP/1.1 200 OK\r\nX: a: b\tc\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n")
    }

    @Test("a head, a small body and the end written at once go out as one buffer; a flush sends a held head at once")
    func smallAnswerInOneBuffer() throws {
        let (channel, _, _) = try Self.channel()
        try channel.writeInbound(Self.bytes("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n"))
        let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["Content-Length": "5"])
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(Self.bytes("hello"))), promise: nil)
        let ended = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        #expect(throws: Never.self) { try ended.wait() }
        let first = try channel.readOutbound(as: IOData.self)
        #expect(try channel.readOutbound(as: IOData.self) == nil, "head, body and end in one write")
        guard case .byteBuffer(let bytes) = first else { Issue.record("no buffer written"); return }
        #expect(String(buffer: bytes) == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")

        // A streamed answer: its head goes out at the flush after it, before any body exists.
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.flush()
        #expect(try Self.written(channel) == "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        try channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(Self.bytes("world"))))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(try Self.written(channel) == "world")
    }

    @Test("a 204 or 304 answer loses its framing headers")
    func bodilessStatus() throws {
        let (channel, _, _) = try Self.channel()
        try channel.writeInbound(Self.bytes("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"))
        try Self.answer(channel, status: .noContent, headers: [("Content-Length", "0"), ("Transfer-Encoding", "chunked")])
        #expect(try Self.written(channel) == "HTTP/1.1 204 No Content\r\n\r\n")
    }

    @Test("a header with a line break is never written: the connection closes")
    func headerInjection() throws {
        let (channel, _, _) = try Self.channel()
        try channel.writeInbound(Self.bytes("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"))
        try? channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok,
                                                                              headers: ["Location": "/x\r\nSet-Cookie: a=b"])))
        #expect(try Self.written(channel) == "")
        #expect(!channel.isActive)
    }

    @Test("malformed input is answered 400, a head over the limit 431, each with an OCI error, and the connection closes")
    func refusals() throws {
        let (bad, _, badHolder) = try Self.channel()
        try? bad.writeInbound(Self.bytes("GET /a HTTP/1.1\r\nHost t\r\n\r\n"))
        let badText = try Self.written(bad)
        #expect(badText.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(badText)")
        #expect(badText.contains(#""code":"UNSUPPORTED""#) && badText.contains("Connection: close"))
        #expect(badHolder.requests.isEmpty && !bad.isActive)

        let (large, _, _) = try Self.channel(maxHeaderBytes: 100)
        try? large.writeInbound(Self.bytes("GET /a HTTP/1.1\r\nHost: t\r\nX: \(String(repeating: "y", count: 200))\r\n\r\n"))
        let largeText = try Self.written(large)
        #expect(largeText.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "\(largeText)")
        #expect(!large.isActive)
    }

    @Test("malformed input arriving in pieces is refused once, though the decoder reports its error again as the connection closes")
    func refusedOnce() throws {
        let (channel, _, holder) = try Self.channel()
        channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 5000), promise: nil)
        let input = Array("GET /aUHTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        for start in stride(from: 0, to: input.count, by: 5) where channel.isActive {
            try? channel.writeInbound(ByteBuffer(bytes: input[start..<min(start + 5, input.count)]))
        }
        let text = try Self.written(channel)
        #expect(text.components(separatedBy: "HTTP/1.1 400 Bad Request").count == 2, "\(text)")
        #expect(holder.requests.isEmpty && !channel.isActive)
    }

    @Test("input refused while an answer is under way closes the connection without a second answer")
    func refusalWhileAnswering() throws {
        let (channel, _, holder) = try Self.channel()
        try? channel.writeInbound(Self.bytes("GET /a HTTP/1.1\r\nHost: t\r\n\r\nGARBAGE\r\n\r\n"))
        #expect(holder.uris == ["/a"])
        #expect(try Self.written(channel) == "")
        #expect(!channel.isActive)
    }
}
