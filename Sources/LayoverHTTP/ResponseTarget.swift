import NIOCore
import NIOHTTP1

/// Where an answer's HTTP/1-style parts go: an HTTP/1.1 connection's channel, or one stream of
/// an HTTP/2 connection (`HTTP2Exchange`). Callable from any thread; the parts are written on
/// `eventLoop`, in the order they were given.
protocol ResponseTarget: Sendable {
    var eventLoop: any EventLoop { get }
    var allocator: ByteBufferAllocator { get }
    /// Queues `part`; `promise` completes when the transport took it.
    func write(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?)
    func flush()
    /// Ends the exchange short of a complete answer: HTTP/1.1 closes the connection, HTTP/2
    /// resets the stream.
    func close()
}

extension ResponseTarget {
    func writeAndFlush(_ part: HTTPServerResponsePart) -> EventLoopFuture<Void> {
        let written = eventLoop.makePromise(of: Void.self)
        write(part, promise: written)
        flush()
        return written.futureResult
    }
}

/// An HTTP/1.1 connection as a response target.
struct ChannelTarget: ResponseTarget {
    let channel: any Channel

    var eventLoop: any EventLoop { channel.eventLoop }
    var allocator: ByteBufferAllocator { channel.allocator }

    func write(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?) {
        channel.write(part, promise: promise)
    }

    func flush() {
        channel.flush()
    }

    func close() {
        channel.close(promise: nil)
    }
}
