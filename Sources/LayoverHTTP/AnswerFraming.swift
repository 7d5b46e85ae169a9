import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Turns one HTTP/2 stream's answer, written as HTTP/1-style parts, into frame payloads.
///
/// - Names are lower-cased and connection-specific headers dropped (RFC 9113 §8.2.2).
/// - The end of the stream rides on the answer's last frame. A `HEADERS` or `DATA` frame is held
///   until the next write or flush, and an end that follows at once is folded into it: no empty
///   `DATA` frame of its own through the connection's state machine, encoder and TLS.
/// - `x-request-id` is sent without HPACK indexing. Every answer carries a new id: indexed, each
///   took a slot of the connection's 4 KiB table, pushing out headers that repeat, and the
///   encoder scans that table for every header it writes (6 % of the CPU of small requests).
struct AnswerFraming {
    /// A frame to write now, with the promise of the part it carries.
    typealias Frame = (payload: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>?)

    static let requestID = "x-request-id"

    private var held: Frame?

    /// Frames `part`: returns what goes out now, in order (a held frame first). Nothing is
    /// written from inside, so a stream that closes as a frame goes out finds this state settled.
    /// A file region fails its promise: files go out as buffers on HTTP/2
    /// (`ResponseWriter.Transport.sendfile` is off).
    mutating func write(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?) -> (Frame?, Frame?) {
        let payload: HTTP2Frame.FramePayload
        switch part {
        case .head(let head):
            payload = .headers(.init(headers: Self.answerHeaders(status: head.status, head.headers)))
        case .body(.byteBuffer(let buffer)):
            payload = .data(.init(data: .byteBuffer(buffer)))
        case .body(.fileRegion):
            promise?.fail(ChannelError.operationUnsupported)
            return (nil, nil)
        case .end(let trailers?):
            payload = .headers(.init(headers: Self.answerHeaders(status: nil, trailers), endStream: true))
        case .end(nil):
            if let (earlier, earlierPromise) = held, let ended = Self.ending(earlier) {
                held = nil
                if let promise { promise.futureResult.cascade(to: earlierPromise) }
                return ((ended, promise ?? earlierPromise), nil)
            }
            payload = .data(.init(data: .byteBuffer(ByteBuffer()), endStream: true))
        }
        let earlier = release()
        if Self.mayEndLater(payload) {
            held = (payload, promise)
            return (earlier, nil)
        }
        return (earlier, (payload, promise))
    }

    /// The held frame, to go out now (a flush).
    mutating func release() -> Frame? {
        defer { held = nil }
        return held
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
