import NIOCore
import NIOHTTP1

/// Turns one HTTP/1.1 connection's answers into bytes: the status line and headers, then the
/// body as given, chunk-framed when the head carries no `Content-Length`, and nothing of the
/// body for a `HEAD` request or a status that has none (RFC 9112 §6). Header names and values
/// are checked as they are copied: a line break or NUL in one (a header built from client
/// input) is refused, never written.
struct HTTP1AnswerEncoder {
    /// The answer being written is chunk-framed.
    private var chunked = false
    /// The answer being written carries no body (a `HEAD` request's, or a 204/304).
    private var bodiless = false

    /// A header name or value that cannot be written.
    struct InvalidHeader: Error {}

    /// The bytes of `head`, for a request of `method`; an informational (1xx) head is written
    /// as it is and leaves the answer's framing to the final head.
    mutating func head(_ head: HTTPResponseHead, method: HTTPMethod, allocator: ByteBufferAllocator) throws(InvalidHeader) -> ByteBuffer {
        var headers = head.headers
        let informational = head.status.code < 200
        if !informational {
            bodiless = method == .HEAD || !head.status.mayHaveResponseBody
            chunked = false
            if !head.status.mayHaveResponseBody {
                headers.remove(name: "content-length")
                headers.remove(name: "transfer-encoding")
            } else if headers.contains(name: "content-length") {
                headers.remove(name: "transfer-encoding")
            } else if head.version.major == 1, head.version.minor >= 1 {
                headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
                chunked = method != .HEAD
            }
        }
        var buffer = allocator.buffer(capacity: 256)
        buffer.writeStaticString("HTTP/")
        buffer.writeString(String(head.version.major))
        buffer.writeStaticString(".")
        buffer.writeString(String(head.version.minor))
        buffer.writeStaticString(" ")
        buffer.writeString(String(head.status.code))
        buffer.writeStaticString(" ")
        buffer.writeString(head.status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        for (name, value) in headers {
            guard Self.isWritable(name, isName: true), Self.isWritable(value, isName: false) else { throw InvalidHeader() }
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// What to write for a piece of the body: nothing for a bodiless answer, the piece framed as
    /// a chunk (`size`, piece, `CRLF`) when chunked, else the piece.
    func body(_ piece: IOData, allocator: ByteBufferAllocator) -> [IOData] {
        if bodiless { return [] }
        guard chunked else { return [piece] }
        // An empty chunk would end the body.
        if piece.readableBytes == 0 { return [] }
        var size = allocator.buffer(capacity: 16)
        size.writeString(String(piece.readableBytes, radix: 16))
        size.writeStaticString("\r\n")
        return [.byteBuffer(size), piece, .byteBuffer(ByteBuffer(staticString: "\r\n"))]
    }

    /// The bytes that end the answer: the last chunk when chunked, else none.
    mutating func end() -> ByteBuffer? {
        defer { (chunked, bodiless) = (false, false) }
        return chunked ? ByteBuffer(staticString: "0\r\n\r\n") : nil
    }

    /// A name is a token's bytes (no separators, controls or spaces); a value has no CR, LF or NUL.
    private static func isWritable(_ text: String, isName: Bool) -> Bool {
        for byte in text.utf8 {
            if byte == 0x0D || byte == 0x0A || byte == 0x00 { return false }
            if isName, byte == 0x20 || byte == 0x3A || byte == 0x09 { return false }
        }
        return !(isName && text.isEmpty)
    }
}
