import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Turns one HTTP/2 stream's frames into the HTTP/1-style parts `RegistryChannelHandler` reads,
/// and its answer's parts into frames: one handler where NIO's HTTP/2-to-HTTP/1 codec and a
/// shaper after it took two, and each answer's headers converted once.
///
/// Inbound: the first `HEADERS` is the request's head (its pseudo-headers become the method and
/// target, `:authority` the `host`); `DATA` is body; a later `HEADERS` (trailers) or a frame with
/// `END_STREAM` ends it. NIO's HTTP/2 handler has already validated the header block and the
/// content length.
///
/// Outbound:
/// - Names are lower-cased and connection-specific headers dropped (RFC 9113 §8.2.2).
/// - The end of the stream rides on the answer's last frame. A `HEADERS` or `DATA` frame is held
///   until the next write or flush, and an end that follows at once is folded into it: no empty
///   `DATA` frame of its own through the connection's state machine, encoder and TLS.
/// - `x-request-id` is sent without HPACK indexing. Every answer carries a new id: indexed, each
///   took a slot of the connection's 4 KiB table, pushing out headers that repeat, and the
///   encoder scans that table for every header it writes (6 % of the CPU of small requests).
final class StreamCodec: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTP2Frame.FramePayload

    static let requestID = "x-request-id"

    /// A request head arrived: a later `HEADERS` frame is its trailers.
    private var headReceived = false
    private var held: (payload: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>?)?

    /// A request whose header block lacks a pseudo-header a request needs.
    struct MissingPseudoHeader: Error, CustomStringConvertible {
        var name: String
        var description: String { "the request has no \(name) pseudo-header" }
    }

    // MARK: Requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let frame):
            if headReceived {
                context.fireChannelRead(wrapInboundOut(.end(HTTPHeaders(Self.regular(frame.headers)))))
                return
            }
            headReceived = true
            do {
                context.fireChannelRead(wrapInboundOut(.head(try Self.requestHead(frame.headers, endStream: frame.endStream))))
            } catch {
                context.fireErrorCaught(error)
                return
            }
            if frame.endStream { context.fireChannelRead(wrapInboundOut(.end(nil))) }
        case .data(let frame):
            guard case .byteBuffer(let buffer) = frame.data else { return }
            if buffer.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(buffer))) }
            if frame.endStream { context.fireChannelRead(wrapInboundOut(.end(nil))) }
        default:
            break
        }
    }

    /// The request's head from its header block: `:method`, `:path`, `:authority` as `host`
    /// (unless the block has one), and every regular header. A request that may carry a body and
    /// names no length gets one as HTTP/1.1 would say it: `content-length: 0` when the stream
    /// ended with the head, else `transfer-encoding: chunked` (forwarding relies on it).
    static func requestHead(_ block: HPACKHeaders, endStream: Bool) throws -> HTTPRequestHead {
        var method: String?
        var path: String?
        var scheme: String?
        var authority: String?
        var headers: [(String, String)] = []
        headers.reserveCapacity(block.count + 1)
        var hasHost = false
        var hasLength = false
        for (name, value, _) in block {
            guard name.utf8.first == UInt8(ascii: ":") else {
                if name == "host" { hasHost = true } else if name == "content-length" { hasLength = true }
                headers.append((name, value))
                continue
            }
            switch name {
            case ":method": method = value
            case ":path": path = value
            case ":scheme": scheme = value
            case ":authority": authority = value
            default: break
            }
        }
        guard let method else { throw MissingPseudoHeader(name: ":method") }
        guard let path else { throw MissingPseudoHeader(name: ":path") }
        guard scheme != nil else { throw MissingPseudoHeader(name: ":scheme") }
        if let authority, !hasHost { headers.insert(("host", authority), at: 0) }
        let parsed = HTTPMethod(rawValue: method)
        switch parsed {
        case .GET, .HEAD, .DELETE, .CONNECT, .TRACE: break
        default:
            if !hasLength { headers.append(endStream ? ("content-length", "0") : ("transfer-encoding", "chunked")) }
        }
        return HTTPRequestHead(version: .http2, method: parsed, uri: path, headers: HTTPHeaders(headers))
    }

    private static func regular(_ block: HPACKHeaders) -> [(String, String)] {
        block.compactMap { name, value, _ in name.utf8.first == UInt8(ascii: ":") ? nil : (name, value) }
    }

    // MARK: Answers

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let payload: HTTP2Frame.FramePayload
        switch unwrapOutboundIn(data) {
        case .head(let head):
            payload = .headers(.init(headers: Self.answerHeaders(status: head.status, head.headers)))
        case .body(.byteBuffer(let buffer)):
            payload = .data(.init(data: .byteBuffer(buffer)))
        case .body(.fileRegion):
            // Files go out as buffers on HTTP/2 (`ResponseWriter.Transport.sendfile` is off).
            promise?.fail(ChannelError.operationUnsupported)
            return
        case .end(let trailers?):
            payload = .headers(.init(headers: Self.answerHeaders(status: nil, trailers), endStream: true))
        case .end(nil):
            if let (earlier, earlierPromise) = held, let ended = Self.ending(earlier) {
                held = nil
                if let promise { promise.futureResult.cascade(to: earlierPromise) }
                context.write(wrapOutboundOut(ended), promise: promise ?? earlierPromise)
                return
            }
            payload = .data(.init(data: .byteBuffer(ByteBuffer()), endStream: true))
        }
        writeHeld(context: context)
        if Self.mayEndLater(payload) {
            held = (payload, promise)
        } else {
            context.write(wrapOutboundOut(payload), promise: promise)
        }
    }

    func flush(context: ChannelHandlerContext) {
        writeHeld(context: context)
        context.flush()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        writeHeld(context: context)
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        writeHeld(context: context)
    }

    private func writeHeld(context: ChannelHandlerContext) {
        guard let (payload, promise) = held else { return }
        held = nil
        context.write(wrapOutboundOut(payload), promise: promise)
    }

    /// A `HEADERS` or `DATA` frame that does not end the stream: an end may follow.
    static func mayEndLater(_ payload: HTTP2Frame.FramePayload) -> Bool {
        switch payload {
        case .headers(let headers): !headers.endStream
        case .data(let data): !data.endStream
        default: false
        }
    }

    /// `earlier` ending the stream; nil for a frame that cannot.
    static func ending(_ earlier: HTTP2Frame.FramePayload) -> HTTP2Frame.FramePayload? {
        switch earlier {
        case .headers(var headers):
            headers.endStream = true
            return .headers(headers)
        case .data(var data):
            data.endStream = true
            return .data(data)
        default:
            return nil
        }
    }

    /// An answer's header block (with `:status` first when given): names lower-cased,
    /// connection-specific headers left out, `x-request-id` never indexed.
    static func answerHeaders(status: HTTPResponseStatus?, _ headers: HTTPHeaders) -> HPACKHeaders {
        var block = HPACKHeaders()
        block.reserveCapacity(headers.count + 1)
        if let status { block.add(name: ":status", value: String(status.code)) }
        for (name, value) in headers {
            let lowered = lowercased(name)
            if isConnectionSpecific(lowered) { continue }
            block.add(name: lowered, value: value, indexing: lowered == requestID ? .nonIndexable : .indexable)
        }
        return block
    }

    /// A header about the HTTP/1.1 connection, which HTTP/2 forbids (`name` in lower case). A
    /// switch, not a set: no hashing of every name of every answer.
    static func isConnectionSpecific(_ name: String) -> Bool {
        switch name {
        case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade": true
        default: false
        }
    }

    /// `name` in lower case: the names every answer carries from constants, others itself when
    /// already lower case, else a lower-cased copy.
    static func lowercased(_ name: String) -> String {
        switch name {
        case "Content-Type": "content-type"
        case "Content-Length": "content-length"
        case "Docker-Content-Digest": "docker-content-digest"
        case "ETag": "etag"
        case "X-Request-Id": "x-request-id"
        case "Docker-Distribution-API-Version": "docker-distribution-api-version"
        default:
            name.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) ? name.lowercased() : name
        }
    }
}
