import NIOHPACK
import NIOHTTP1

/// Reads an HTTP/2 request's header blocks as the HTTP/1-style head the responder takes. NIO's
/// HTTP/2 handler has already validated each block and the content length.
enum HTTP2Request {
    /// A request whose header block lacks a pseudo-header a request needs.
    struct MissingPseudoHeader: Error, CustomStringConvertible {
        var name: String
        var description: String { "the request has no \(name) pseudo-header" }
    }

    /// The request's head from its header block: `:method`, `:path`, `:authority` as `host`
    /// (unless the block has one), and every regular header. A request that may carry a body and
    /// names no length gets one as HTTP/1.1 would say it: `content-length: 0` when the stream
    /// ended with the head, else `transfer-encoding: chunked` (forwarding relies on it).
    static func head(_ block: HPACKHeaders, endStream: Bool) throws -> HTTPRequestHead {
        var method: String?
        var path: String?
        var scheme: String?
        var authority: String?
        var headers: [(String, String)] = []
        headers.reserveCapacity(block.count + 1)
        var hasHost = false
        var hasLength = false
        for (name, value, _) in block {
            guard name.utf8.first == UInt8(ascii: ":") else {
                if name == "host" { hasHost = true } else if name == "content-length" { hasLength = true }
                headers.append((name, value))
                continue
            }
            switch name {
            case ":method": method = value
            case ":path": path = value
            case ":scheme": scheme = value
            case ":authority": authority = value
            default: break
            }
        }
        guard let method else { throw MissingPseudoHeader(name: ":method") }
        guard let path else { throw MissingPseudoHeader(name: ":path") }
        guard scheme != nil else { throw MissingPseudoHeader(name: ":scheme") }
        if let authority, !hasHost { headers.insert(("host", authority), at: 0) }
        let parsed = HTTPMethod(rawValue: method)
        switch parsed {
        case .GET, .HEAD, .DELETE, .CONNECT, .TRACE: break
        default:
            if !hasLength { headers.append(endStream ? ("content-length", "0") : ("transfer-encoding", "chunked")) }
        }
        return HTTPRequestHead(version: .http2, method: parsed, uri: path, headers: HTTPHeaders(headers))
    }
}
