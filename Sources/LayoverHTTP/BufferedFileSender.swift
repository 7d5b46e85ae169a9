import NIOCore
import NIOHTTP1
#if canImport(Glibc)
import Glibc
#endif

/// Sends a span of a stored file as buffers read from it, where `sendfile` cannot go: through
/// TLS, and on HTTP/2 streams (whose frames are cut and flow-controlled by NIO's HTTP/2 handler).
///
/// Runs on the target's event loop: reads a chunk with `pread` (the store is local disk, and a
/// blob being served is usually in the page cache), writes it, and keeps `chunksInFlight`
/// written but not yet taken by the transport. A write completes when the transport took the
/// bytes (TLS: encrypted and written; HTTP/2: past the stream's flow-control window), so a slow
/// reader holds at most `chunkSize * chunksInFlight` bytes here: memory stays flat.
final class BufferedFileSender {
    static let chunkSize = 128 << 10
    static let chunksInFlight = 2

    private let target: any ResponseTarget
    private let descriptor: CInt
    private let end: Int64
    private var next: Int64
    private var inFlight = 0
    private var finished = false
    private let done: EventLoopPromise<Void>

    /// Starts sending `count` bytes at `offset` of the open file `descriptor` on `target`; the
    /// future completes when the last chunk was taken by the transport, or fails with the first
    /// read or write error (a file shorter than the span is an error). The caller closes the file.
    static func send(_ descriptor: CInt, offset: Int64, count: Int64, on target: any ResponseTarget) -> EventLoopFuture<Void> {
        let promise = target.eventLoop.makePromise(of: Void.self)
        target.eventLoop.execute {
            BufferedFileSender(target: target, descriptor: descriptor, offset: offset, count: count, done: promise).pump()
        }
        return promise.futureResult
    }

    private init(target: any ResponseTarget, descriptor: CInt, offset: Int64, count: Int64, done: EventLoopPromise<Void>) {
        self.target = target
        self.descriptor = descriptor
        self.next = offset
        self.end = offset + count
        self.done = done
    }

    private func pump() {
        if next == end, inFlight == 0 { return finish(.success(())) }
        var wrote = false
        while !finished, next < end, inFlight < Self.chunksInFlight {
            guard let chunk = Self.read(descriptor, at: next, count: Int(min(Int64(Self.chunkSize), end - next)),
                                        allocator: target.allocator) else {
                return finish(.failure(ChannelError.inputClosed))
            }
            next += Int64(chunk.readableBytes)
            inFlight += 1
            wrote = true
            let written = target.eventLoop.makePromise(of: Void.self)
            target.write(HTTPServerResponsePart.body(.byteBuffer(chunk)), promise: written)
            written.futureResult.assumeIsolated().whenComplete { result in
                self.inFlight -= 1
                switch result {
                case .failure(let error): self.finish(.failure(error))
                case .success: self.pump()
                }
            }
        }
        if wrote { target.flush() }
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !finished else { return }
        finished = true
        done.completeWith(result)
    }

    /// Reads exactly `count` bytes at `offset`; nil when the file ends first or cannot be read.
    static func read(_ descriptor: CInt, at offset: Int64, count: Int, allocator: ByteBufferAllocator) -> ByteBuffer? {
        var buffer = allocator.buffer(capacity: count)
        while buffer.readableBytes < count {
            var failure: CInt?
            let wanted = count - buffer.readableBytes
            let position = off_t(offset) + off_t(buffer.readableBytes)
            let got = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { pointer in
                let result = pread(descriptor, pointer.baseAddress, wanted, position)
                if result < 0 { failure = errno }
                return max(0, result)
            }
            if failure == EINTR { continue }
            if got == 0 { return nil }
        }
        return buffer
    }
}
