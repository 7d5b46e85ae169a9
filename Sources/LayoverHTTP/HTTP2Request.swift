import NIOHPACK
import NIOHTTP1

/// Reads an HTTP/2 request's header block as the HTTP/1-style head the responder takes, and
/// checks it as RFC 9113 §8.2–8.3 asks (NIO's HTTP/2 handler is told not to: it checked our
/// answers' blocks too, 4 % of the CPU of small requests). A malformed block resets its stream.
enum HTTP2Request {
    /// A header block a request may not carry.
    struct MalformedBlock: Error, CustomStringConvertible {
        var reason: String
        var description: String { "malformed request header block: \(reason)" }
    }

    /// The request's head from its header block: `:method`, `:path`, `:authority` as `host`
    /// (unless the block has one), and every regular header. A request that may carry a body and
    /// names no length gets one as HTTP/1.1 would say it: `content-length: 0` when the stream
    /// ended with the head, else `transfer-encoding: chunked` (forwarding relies on it).
    ///
    /// Refused: a missing, repeated, unknown or empty pseudo-header, or one after a regular
    /// header; a pseudo-header value with a space or a control byte; a name that is not a
    /// lower-case token; a value with NUL, CR or LF; a connection-specific header; `te` other
    /// than `trailers`.
    static func head(_ block: HPACKHeaders, endStream: Bool) throws -> HTTPRequestHead {
        var method: String?
        var path: String?
        var scheme: String?
        var authority: String?
        var headers: [(String, String)] = []
        headers.reserveCapacity(block.count + 1)
        var regularSeen = false
        var hasHost = false
        var hasLength = false
        for (name, value, _) in block {
            if name.utf8.first == UInt8(ascii: ":") {
                guard !regularSeen else { throw MalformedBlock(reason: "\(name) after a regular header") }
                guard isPseudoHeaderValue(value) else { throw MalformedBlock(reason: "\(name) has a space or a control byte") }
                switch name {
                case ":method": try set(&method, name, value)
                case ":path": try set(&path, name, value)
                case ":scheme": try set(&scheme, name, value)
                case ":authority": try set(&authority, name, value)
                default: throw MalformedBlock(reason: "unknown pseudo-header \(name)")
                }
                continue
            }
            regularSeen = true
            guard isFieldName(name) else { throw MalformedBlock(reason: "a header name that is not a lower-case token") }
            guard isFieldValue(value) else { throw MalformedBlock(reason: "\(name) has NUL, CR or LF") }
            switch name {
            case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
                throw MalformedBlock(reason: "connection-specific header \(name)")
            case "te" where value != "trailers":
                throw MalformedBlock(reason: "te other than trailers")
            case "host": hasHost = true
            case "content-length": hasLength = true
            default: break
            }
            headers.append((name, value))
        }
        guard let method else { throw MalformedBlock(reason: "no :method") }
        guard let path else { throw MalformedBlock(reason: "no :path") }
        guard scheme != nil else { throw MalformedBlock(reason: "no :scheme") }
        if let authority, !hasHost { headers.insert(("host", authority), at: 0) }
        let parsed = HTTPMethod(rawValue: method)
        switch parsed {
        case .GET, .HEAD, .DELETE, .CONNECT, .TRACE: break
        default:
            if !hasLength { headers.append(endStream ? ("content-length", "0") : ("transfer-encoding", "chunked")) }
        }
        return HTTPRequestHead(version: .http2, method: parsed, uri: path, headers: HTTPHeaders(headers))
    }

    private static func set(_ slot: inout String?, _ name: String, _ value: String) throws {
        guard slot == nil else { throw MalformedBlock(reason: "\(name) twice") }
        guard !value.isEmpty else { throw MalformedBlock(reason: "\(name) is empty") }
        slot = value
    }

    /// A token (RFC 9110 §5.6.2) without upper-case letters (RFC 9113 §8.2.1).
    static func isFieldName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            switch byte {
            case 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x30...0x39, 0x5E...0x7A, 0x7C, 0x7E: true
            default: false
            }
        }
    }

    /// No NUL, CR or LF anywhere (RFC 9113 §8.2.1): they would forge lines in HTTP/1.1.
    static func isFieldValue(_ value: String) -> Bool {
        !value.utf8.contains { $0 == 0x00 || $0 == 0x0A || $0 == 0x0D }
    }

    /// No space, control byte or DEL: none of the pseudo-headers' grammars admits one, and
    /// `:path` becomes a request target.
    static func isPseudoHeaderValue(_ value: String) -> Bool {
        !value.utf8.contains { $0 <= 0x20 || $0 == 0x7F }
    }
}
