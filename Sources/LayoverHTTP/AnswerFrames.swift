import NIOCore
import NIOHPACK
import NIOHTTP2

/// Shapes the frames of an answer on an HTTP/2 stream, between the stream and the codec that
/// turns our HTTP/1-style parts into frames:
///
/// - The end of the stream rides on the answer's last frame. The codec ends a stream with a
///   frame of its own (an empty `DATA` with `END_STREAM`), one more frame per answer through the
///   connection's state machine, encoder and TLS. A `HEADERS` or `DATA` frame is held until the
///   next write or flush: an empty end that follows at once is folded into it.
/// - `x-request-id` is sent without HPACK indexing. Every answer carries a new id: indexed, each
///   took a slot of the connection's 4 KiB table, pushing out headers that repeat, and the
///   encoder scans that table for every header it writes (6 % of the CPU of small requests).
final class AnswerFrames: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    static let requestID = "x-request-id"

    private var held: (payload: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>?)?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let payload = Self.unindexingRequestID(unwrapOutboundIn(data))
        if let (earlier, earlierPromise) = held {
            held = nil
            if let ended = Self.ending(earlier, with: payload) {
                if let promise { promise.futureResult.cascade(to: earlierPromise) }
                context.write(wrapOutboundOut(ended), promise: promise ?? earlierPromise)
                return
            }
            context.write(wrapOutboundOut(earlier), promise: earlierPromise)
        }
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

    /// `earlier` ending the stream, when `next` is nothing but the end (an empty `DATA` frame
    /// with `END_STREAM`).
    static func ending(_ earlier: HTTP2Frame.FramePayload, with next: HTTP2Frame.FramePayload) -> HTTP2Frame.FramePayload? {
        guard case .data(let end) = next, end.endStream, end.paddingBytes == nil, end.data.readableBytes == 0 else { return nil }
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

    static func unindexingRequestID(_ payload: HTTP2Frame.FramePayload) -> HTTP2Frame.FramePayload {
        guard case .headers(var headers) = payload, headers.headers.contains(name: requestID) else { return payload }
        var rebuilt = HPACKHeaders()
        rebuilt.reserveCapacity(headers.headers.count)
        for (name, value, indexing) in headers.headers {
            rebuilt.add(name: name, value: value, indexing: name == requestID ? .nonIndexable : indexing)
        }
        headers.headers = rebuilt
        return .headers(headers)
    }
}
