import LayoverMetrics
import LayoverPull
import LayoverStore
import LayoverWire
import Logging
import NIOCore
import NIOHTTP1
#if canImport(Glibc)
import Glibc
#endif

/// Writes a `Response` onto a target taking HTTP/1-style parts: an HTTP/1.1 connection, or an
/// HTTP/2 stream (`HTTP2Exchange`).
///
/// On cleartext HTTP/1.1, stored files go out as `FileRegion`s (sendfile, see `FileBodySender`);
/// through TLS and on HTTP/2 as buffers read from the file (`BufferedFileSender`). The file is
/// opened here and closed when the last byte is out, the lease released with it. Streams are written one
/// chunk at a time, the next chunk fetched only once the previous one has been handed to the
/// socket: memory stays flat. A stream that fails mid-body closes the connection, so the client
/// sees a short body, never a complete wrong one.
enum ResponseWriter {
    /// What a write did: the body bytes it sent (or, for a file, handed to the kernel) and the
    /// moment the answer's end was written.
    struct Written {
        var bodyBytes: Int64
        var ended: EventLoopFuture<Void>
    }

    /// What carries the answer.
    struct Transport: Sendable {
        /// Stored files may be written as `FileRegion`s: cleartext HTTP/1.1 only.
        var sendfile: Bool
        /// An HTTP/2 stream: no connection headers; "not keep-alive" ends the stream only.
        var multiplexed: Bool
    }

    /// Writes `response`; a streamed body is written as it arrives, anything else at once
    /// (`writeReady`).
    static func write(_ response: Response, keepAlive: Bool, headOnly: Bool, transport: Transport,
                      on target: some ResponseTarget) async -> Written {
        if case .stream(let source) = response.body, !headOnly {
            let head = self.head(response, keepAlive: keepAlive, transport: transport)
            let sent = await stream(source, head: head, keepAlive: keepAlive, sendfile: transport.sendfile, on: target)
            return Written(bodyBytes: sent, ended: target.eventLoop.makeSucceededVoidFuture())
        }
        return writeReady(response, keepAlive: keepAlive, headOnly: headOnly, transport: transport, on: target)
    }

    /// Writes `response` at once, on any thread: its body is ready (empty, bytes or a stored
    /// file), or not sent (`headOnly`). A streamed body is refused: the target is closed.
    static func writeReady(_ response: Response, keepAlive: Bool, headOnly: Bool, transport: Transport,
                           on target: some ResponseTarget) -> Written {
        var head = self.head(response, keepAlive: keepAlive, transport: transport)
        if headOnly {
            release(response.body)
            target.write(HTTPServerResponsePart.head(head), promise: nil)
            return Written(bodyBytes: 0, ended: finish(target, keepAlive: keepAlive))
        }
        switch response.body {
        case .empty:
            if head.headers["content-length"].isEmpty, response.status.mayHaveResponseBody {
                head.headers.add(name: "Content-Length", value: "0")
            }
            target.write(HTTPServerResponsePart.head(head), promise: nil)
            return Written(bodyBytes: 0, ended: finish(target, keepAlive: keepAlive))
        case .bytes(let buffer):
            target.write(HTTPServerResponsePart.head(head), promise: nil)
            target.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
            return Written(bodyBytes: Int64(buffer.readableBytes), ended: finish(target, keepAlive: keepAlive))
        case .file(let lease, let span):
            if span.count <= smallBodyLimit {
                // A manifest or a small blob: kept in memory, or one read from the page cache;
                // either with one write beats sendfile's extra hop through the event loop.
                let buffer = smallBody(lease, span, allocator: target.allocator)
                lease.release()
                guard let buffer else {
                    target.close()
                    return Written(bodyBytes: 0, ended: target.eventLoop.makeSucceededVoidFuture())
                }
                Telemetry.served(buffer.readableBytes, fromStore: true)
                target.write(HTTPServerResponsePart.head(head), promise: nil)
                target.write(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
                return Written(bodyBytes: span.count, ended: finish(target, keepAlive: keepAlive))
            }
            let fd = open(lease.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                lease.release()
                target.close()
                return Written(bodyBytes: 0, ended: target.eventLoop.makeSucceededVoidFuture())
            }
            target.write(HTTPServerResponsePart.head(head), promise: nil)
            let sent: EventLoopFuture<Void>
            let closeFile: @Sendable () -> Void
            if transport.sendfile {
                let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
                sent = FileBodySender.send(handle, offset: span.offset, count: span.count, on: target)
                closeFile = { try? handle.close() }
            } else {
                sent = BufferedFileSender.send(fd, offset: span.offset, count: span.count, on: target)
                closeFile = { close(fd) }
            }
            sent.whenComplete { result in
                closeFile()
                lease.release()
                if case .success = result { Telemetry.served(Int(span.count), fromStore: true) }
            }
            let ended = sent.flatMap { finish(target, keepAlive: keepAlive) }
            ended.whenFailure { _ in target.close() }
            return Written(bodyBytes: span.count, ended: ended)
        case .stream(let source):
            assertionFailure("a streamed body is written by write(_:keepAlive:headOnly:transport:on:)")
            source.close()
            target.close()
            return Written(bodyBytes: 0, ended: target.eventLoop.makeSucceededVoidFuture())
        }
    }

    /// The answer's head: `Connection: close` on an HTTP/1.1 connection that will close.
    private static func head(_ response: Response, keepAlive: Bool, transport: Transport) -> HTTPResponseHead {
        var head = HTTPResponseHead(version: .http1_1, status: response.status, headers: response.headers)
        if !keepAlive, !transport.multiplexed { head.headers.replaceOrAdd(name: "Connection", value: "close") }
        return head
    }

    /// Bodies up to this size are read and written, larger ones sent with sendfile.
    static let smallBodyLimit: Int64 = 64 << 10

    /// `span` of a small stored blob: cut from its whole body when `SmallBodyCache` keeps it,
    /// else read from the file (and the whole body kept). Nil when the file cannot be read.
    private static func smallBody(_ lease: BlobLease, _ span: ByteSpan, allocator: ByteBufferAllocator) -> ByteBuffer? {
        let digest = lease.record.digest
        if let whole = SmallBodyCache.shared.body(digest), Int64(whole.readableBytes) == lease.record.size {
            return whole.getSlice(at: whole.readerIndex + Int(span.offset), length: Int(span.count))
        }
        let fd = open(lease.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard let buffer = BufferedFileSender.read(fd, at: span.offset, count: Int(span.count), allocator: allocator) else { return nil }
        if span.offset == 0, span.count == lease.record.size { SmallBodyCache.shared.keep(buffer, for: digest) }
        return buffer
    }

    /// Streams `source`; returns the body bytes the socket took.
    private static func stream(_ source: ChunkSource, head: HTTPResponseHead, keepAlive: Bool, sendfile: Bool,
                               on target: some ResponseTarget) async -> Int64 {
        defer { source.close() }
        var sent: Int64 = 0
        do {
            try await target.writeAndFlush(HTTPServerResponsePart.head(head)).get()
            while let chunk = try await source.nextChunk() {
                let count: Int
                switch chunk {
                case .bytes(let buffer):
                    count = buffer.readableBytes
                    try await target.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer))).get()
                case .file(let handle, let offset, let count64) where sendfile:
                    count = Int(count64)
                    let region = FileRegion(fileHandle: handle, readerIndex: Int(offset), endIndex: Int(offset + count64))
                    try await target.writeAndFlush(HTTPServerResponsePart.body(.fileRegion(region))).get()
                case .file(let handle, let offset, let count64):
                    count = Int(count64)
                    let descriptor = try handle.withUnsafeFileDescriptor { $0 }
                    try await BufferedFileSender.send(descriptor, offset: offset, count: count64, on: target).get()
                }
                sent += Int64(count)
                Telemetry.served(count, fromStore: false)
            }
            try await finish(target, keepAlive: keepAlive).get()
        } catch {
            // The body cannot be completed (or the client left): close short of a complete body.
            target.close()
        }
        return sent
    }

    @discardableResult
    private static func finish(_ target: some ResponseTarget, keepAlive: Bool) -> EventLoopFuture<Void> {
        let done = target.writeAndFlush(HTTPServerResponsePart.end(nil))
        if !keepAlive {
            done.whenComplete { _ in target.close() }
        }
        return done
    }

    private static func release(_ body: Response.Body) {
        switch body {
        case .file(let lease, _): lease.release()
        case .stream(let source): source.close()
        case .empty, .bytes: break
        }
    }
}

extension HTTPResponseStatus {
    var mayHaveResponseBody: Bool {
        !(code < 200 || code == 204 || code == 304)
    }
}
