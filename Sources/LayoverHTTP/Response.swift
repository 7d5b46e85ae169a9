import LayoverPull
import LayoverStore
import LayoverWire
import NIOCore
import NIOHTTP1

/// An answer to write: status, headers, and a body from memory, a stored file or a stream.
public struct Response: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: Body

    public enum Body: Sendable {
        case empty
        case bytes(ByteBuffer)
        /// A span of a stored, verified file; the lease is released once the bytes are out.
        case file(BlobLease, ByteSpan)
        /// A body produced as it arrives; `Content-Length` set by the caller when known.
        case stream(ChunkSource)
    }

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: Body = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON answer.
    public static func json(_ text: String, status: HTTPResponseStatus = .ok) -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(text.utf8.count))
        return Response(status: status, headers: headers, body: .bytes(ByteBuffer(string: text)))
    }

    /// A plain-text (or other `contentType`) answer.
    public static func text(_ text: String, status: HTTPResponseStatus = .ok,
                            contentType: String = "text/plain; charset=utf-8") -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(text.utf8.count))
        return Response(status: status, headers: headers, body: .bytes(ByteBuffer(string: text)))
    }

    /// The OCI error JSON for `error`, with its status and headers.
    public static func error(_ error: OCIError, headOnly: Bool = false) -> Response {
        var response = json(error.jsonBody, status: HTTPResponseStatus(statusCode: error.status))
        for (name, value) in error.headers { response.headers.add(name: name, value: value) }
        if headOnly { response.body = .empty }
        return response
    }
}
