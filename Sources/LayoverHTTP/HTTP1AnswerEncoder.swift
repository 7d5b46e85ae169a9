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

    /// A body up to this size is given room after its head's bytes (it is sent with them).
    static let smallBodyRoom = 16 << 10

    /// A header name or value that cannot be written.
    struct InvalidHeader: Error {}

    /// The bytes of `head`, for a request of `method`; an informational (1xx) head is written
    /// as it is and leaves the answer's framing to the final head. The headers are copied once,
    /// the framing ones dropped or added on the way (RFC 9112 §6.1–6.3).
    mutating func head(_ head: HTTPResponseHead, method: HTTPMethod, allocator: ByteBufferAllocator) throws(InvalidHeader) -> ByteBuffer {
        var dropLength = false, dropTransferEncoding = false, addChunked = false
        var bodyRoom = 0
        if head.status.code >= 200 {
            let mayHaveBody = head.status.mayHaveResponseBody
            bodiless = method == .HEAD || !mayHaveBody
            chunked = false
            let length = head.headers.first(name: "content-length")
            if !mayHaveBody {
                (dropLength, dropTransferEncoding) = (true, true)
            } else if let length {
                dropTransferEncoding = true
                if !bodiless, let size = Int(length), size <= Self.smallBodyRoom { bodyRoom = size }
            } else if head.version.major == 1, head.version.minor >= 1 {
                (dropTransferEncoding, addChunked) = (true, true)
                chunked = method != .HEAD
            }
        }
        var buffer = allocator.buffer(capacity: 384 + bodyRoom)
        Self.writeStatusLine(head, to: &buffer)
        for (name, value) in head.headers {
            if dropLength || dropTransferEncoding {
                if dropLength, name.utf8.count == 14, name.lowercased() == "content-length" { continue }
                if dropTransferEncoding, name.utf8.count == 17, name.lowercased() == "transfer-encoding" { continue }
            }
            guard Self.isWritable(name, isName: true), Self.isWritable(value, isName: false) else { throw InvalidHeader() }
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        if addChunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    /// `HTTP/1.1 200 OK` and its line end; the common statuses of HTTP/1.1 from constants.
    private static func writeStatusLine(_ head: HTTPResponseHead, to buffer: inout ByteBuffer) {
        if head.version == .http1_1 {
            switch head.status {
            case .ok: buffer.writeStaticString("HTTP/1.1 200 OK\r\n"); return
            case .partialContent: buffer.writeStaticString("HTTP/1.1 206 Partial Content\r\n"); return
            case .notFound: buffer.writeStaticString("HTTP/1.1 404 Not Found\r\n"); return
            default: break
            }
        }
        buffer.writeStaticString("HTTP/")
        buffer.writeString(String(head.version.major))
        buffer.writeStaticString(".")
        buffer.writeString(String(head.version.minor))
        buffer.writeStaticString(" ")
        buffer.writeString(String(head.status.code))
        buffer.writeStaticString(" ")
        buffer.writeString(head.status.reasonPhrase)
        buffer.writeStaticString("\r\n")
    }

    /// How a piece of the body goes out.
    enum Piece {
        /// Not at all: a bodiless answer, or an empty piece of a chunked one (it would end the body).
        case dropped
        case plain(IOData)
        /// Framed as a chunk: `size` line, the piece, `CRLF`.
        case chunk(size: ByteBuffer, IOData)
    }

    /// How `piece` of the body goes out.
    func body(_ piece: IOData, allocator: ByteBufferAllocator) -> Piece {
        if bodiless { return .dropped }
        guard chunked else { return .plain(piece) }
        if piece.readableBytes == 0 { return .dropped }
        var size = allocator.buffer(capacity: 16)
        size.writeString(String(piece.readableBytes, radix: 16))
        size.writeStaticString("\r\n")
        return .chunk(size: size, piece)
    }

    /// The line end after a chunk.
    static let chunkEnd = ByteBuffer(staticString: "\r\n")

    /// The bytes that end the answer: the last chunk when chunked, else none.
    mutating func end() -> ByteBuffer? {
        defer { (chunked, bodiless) = (false, false) }
        return chunked ? ByteBuffer(staticString: "0\r\n\r\n") : nil
    }

    /// A name is a token's bytes (no separators, controls or spaces); a value has no CR, LF or NUL.
    private static func isWritable(_ text: String, isName: Bool) -> Bool {
        if isName, text.isEmpty { return false }
        let checked = text.utf8.withContiguousStorageIfAvailable { bytes in
            isName ? bytes.allSatisfy(isNameByte) : bytes.allSatisfy(isValueByte)
        }
        return checked ?? (isName ? text.utf8.allSatisfy(isNameByte) : text.utf8.allSatisfy(isValueByte))
    }

    private static func isValueByte(_ byte: UInt8) -> Bool {
        byte != 0x0D && byte != 0x0A && byte != 0x00
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        isValueByte(byte) && byte != 0x20 && byte != 0x3A && byte != 0x09
    }
}
