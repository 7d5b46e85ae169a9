import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import LayoverHTTP

/// The connection keeps asking for reads while its one complete request is answered (no
/// `epoll_ctl` pair per request), and stops as before once a pipelined request waits or while a
/// request body streams.
@Suite("Read interest")
struct ReadInterestKeeperTests {
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
    final class Holder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        var heads: [String] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = unwrapInboundIn(data) { heads.append(head.uri) }
        }
    }

    static func channel(keeper: Bool) throws -> (EmbeddedChannel, ReadCounter, Holder) {
        let channel = EmbeddedChannel()
        let counter = ReadCounter(), holder = Holder()
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(counter)
        try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
        if keeper { try sync.addHandler(ReadInterestKeeper()) }
        try sync.addHandler(HTTPServerPipelineHandler())
        try sync.addHandler(holder)
        return (channel, counter, holder)
    }

    static func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    static func answer(_ channel: EmbeddedChannel) throws {
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
    }

    @Test("a complete request being answered keeps the read asked for; without the keeper it is held", arguments: [true, false])
    func keepsReading(_ keeper: Bool) throws {
        let (channel, counter, holder) = try Self.channel(keeper: keeper)
        try channel.writeInbound(Self.bytes("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"))
        channel.read()  // NIO's own read after the read completes: the pipelining handler holds it
        #expect(holder.heads == ["/a"])
        #expect(counter.reads == (keeper ? 1 : 0), "reads asked for while answering: \(counter.reads)")
        try Self.answer(channel)
        #expect(counter.reads > 0, "the answer's end asks for the next read either way")
    }

    @Test("a pipelined request waiting stops the reads until the first answer ends")
    func pipelinedStops() throws {
        let (channel, counter, holder) = try Self.channel(keeper: true)
        try channel.writeInbound(Self.bytes("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"))
        #expect(counter.reads == 1)
        try channel.writeInbound(Self.bytes("GET /b HTTP/1.1\r\nHost: t\r\n\r\n"))
        channel.read()
        #expect(counter.reads == 1, "a second request is waiting: no more reads")
        #expect(holder.heads == ["/a"])
        try Self.answer(channel)
        #expect(holder.heads == ["/a", "/b"], "the waiting request follows the first answer")
        #expect(counter.reads == 1, "the second request is being answered")
        try Self.answer(channel)
        #expect(counter.reads == 2, "both answered: reading again")
    }

    @Test("a request body in progress gets no read from the keeper")
    func bodyLeftAlone() throws {
        let (channel, counter, holder) = try Self.channel(keeper: true)
        try channel.writeInbound(Self.bytes("POST /u HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n12345"))
        #expect(holder.heads == ["/u"])
        #expect(counter.reads == 0)
        try channel.writeInbound(Self.bytes("67890"))
        #expect(counter.reads == 1, "asked for once the request is complete")
        try Self.answer(channel)
    }
}
