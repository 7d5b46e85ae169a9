import NIOCore
import NIOHTTP1

/// One connection's loop of the closed-loop load without an HTTP codec: each path's request is
/// bytes made once, and an answer is framed by its status line and Content-Length alone (no
/// body after a HEAD, a 1xx, 204 or 304). An answer it cannot frame that way (chunked, or
/// without a length) counts as an error and closes the connection. State is touched only on the
/// connection's event loop.
final class RawConnection: ChannelInboundHandler, LoadConnection, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let requests: [ByteBuffer]
    private let isHead: Bool
    var book: LoopBook
    var context: ChannelHandlerContext?
    /// Bytes of an answer's head not yet complete.
    private var pending: ByteBuffer?
    /// Body bytes of the current answer still to arrive; nil while its head is read.
    private var bodyLeft: Int?

    init(method: HTTPMethod, host: String, book: LoopBook) {
        requests = book.paths.map { path in
            ByteBuffer(string: "\(method.rawValue) \(path) HTTP/1.1\r\nHost: \(host)\r\nAccept: \(ClosedLoopLoad.accept)\r\n\r\n")
        }
        isHead = method == .HEAD
        self.book = book
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func send() {
        guard let context else { return }
        bodyLeft = nil
        context.writeAndFlush(wrapOutboundOut(requests[book.begin()]), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        while bytes.readableBytes > 0 {
            if let left = bodyLeft {
                let taken = min(left, bytes.readableBytes)
                bytes.moveReaderIndex(forwardBy: taken)
                bodyLeft = left - taken
            } else if !readHead(from: &bytes, context: context) {
                return
            }
            if bodyLeft == 0 {
                guard bytes.readableBytes == 0 else { return fail(context) }  // one request in flight: nothing may follow
                if book.finish() { send() } else { context.close(promise: nil) }
                return
            }
        }
    }

    /// Takes the answer's head from `bytes` (keeping an incomplete one for the next read) and
    /// sets the body's length; false when the head is not complete yet or was refused.
    private func readHead(from bytes: inout ByteBuffer, context: ChannelHandlerContext) -> Bool {
        if var earlier = pending {
            earlier.writeBuffer(&bytes)
            bytes = earlier
            pending = nil
        }
        guard let end = Self.headEnd(bytes) else {
            pending = bytes
            bytes.clear()
            return false
        }
        let head = bytes.readSlice(length: end)!
        guard let status = Self.status(head) else {
            fail(context)
            return false
        }
        if status >= 400 { book.errors += 1 }
        if isHead || status < 200 || status == 204 || status == 304 {
            bodyLeft = 0
            return true
        }
        guard let length = Self.contentLength(head) else {
            fail(context)
            return false
        }
        bodyLeft = length
        return true
    }

    /// The length of the head at the start of `bytes`, up to its blank line; nil when it is not all there.
    private static func headEnd(_ bytes: ByteBuffer) -> Int? {
        bytes.withUnsafeReadableBytes { raw -> Int? in
            guard raw.count >= 4 else { return nil }
            for index in 0...(raw.count - 4) where raw[index] == 13 && raw[index + 1] == 10 && raw[index + 2] == 13 && raw[index + 3] == 10 {
                return index + 4
            }
            return nil
        }
    }

    /// The status code of an `HTTP/1.1 NNN` status line.
    private static func status(_ head: ByteBuffer) -> Int? {
        guard head.readableBytes > 12, head.getString(at: head.readerIndex, length: 9) == "HTTP/1.1 " else { return nil }
        return head.getString(at: head.readerIndex + 9, length: 3).flatMap { Int($0) }
    }

    /// The value of the head's Content-Length header; nil without one, or with a
    /// Transfer-Encoding (not framed here).
    private static func contentLength(_ head: ByteBuffer) -> Int? {
        head.withUnsafeReadableBytes { raw -> Int? in
            var length: Int?
            var lineStart = 0
            for index in 0..<raw.count where raw[index] == 10 {
                let line = UnsafeRawBufferPointer(rebasing: raw[lineStart..<index])
                lineStart = index + 1
                if hasName(line, "transfer-encoding:") { return nil }
                guard hasName(line, "content-length:") else { continue }
                var value = 0
                var digits = 0
                for byte in line.dropFirst(15) where byte >= 48 && byte <= 57 {
                    value = value * 10 + Int(byte - 48)
                    digits += 1
                }
                length = digits > 0 ? value : nil
            }
            return length
        }
    }

    /// Whether `line` starts with `name` (lowercase ASCII), in any case.
    private static func hasName(_ line: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        guard line.count >= name.utf8CodeUnitCount else { return false }
        return name.withUTF8Buffer { expected in
            expected.indices.allSatisfy { line[$0] | 0x20 == expected[$0] | 0x20 }
        }
    }

    private func fail(_ context: ChannelHandlerContext) {
        book.errors += 1
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { fail(context) }
}
