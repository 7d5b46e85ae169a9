import NIOCore
import NIOHPACK
import NIOHTTP2

/// Sends an HTTP/2 answer's `x-request-id` without adding it to the HPACK dynamic table.
///
/// Every answer carries a new id. Indexed, each one took a slot of the connection's 4 KiB table
/// and pushed out a header that repeats (a digest, a media type), and the encoder scans that
/// table for every header it writes: the scan was 6 % of the CPU of small HTTP/2 requests. Sits
/// between an HTTP/2 stream and the codec that turns our HTTP/1-style answers into frames.
final class UnindexedRequestID: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    static let name = "x-request-id"

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .headers(var headers) = unwrapOutboundIn(data), headers.headers.contains(name: Self.name) else {
            context.write(data, promise: promise)
            return
        }
        var rebuilt = HPACKHeaders()
        rebuilt.reserveCapacity(headers.headers.count)
        for (name, value, indexing) in headers.headers {
            rebuilt.add(name: name, value: value, indexing: name == Self.name ? .nonIndexable : indexing)
        }
        headers.headers = rebuilt
        context.write(wrapOutboundOut(.headers(headers)), promise: promise)
    }
}
