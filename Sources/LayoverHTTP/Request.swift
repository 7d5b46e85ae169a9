import NIOCore
import NIOHTTP1

/// One HTTP request as the router sees it: method, path split from its query, headers.
public struct Request: Sendable {
    public var method: HTTPMethod
    /// The path without the query, e.g. `/v2/library/alpine/manifests/3.20`.
    public var path: String
    /// Query parameters in order; a repeated name appears repeatedly.
    public var query: [(name: String, value: String)]
    /// The raw query string, without `?`.
    public var rawQuery: String?
    public var headers: HTTPHeaders
    /// Whether the connection stays open after the answer.
    public var keepAlive: Bool
    /// The body, streamed as it arrives.
    public var body: RequestBody
    /// The original target (path and query), e.g. for `Location` answers.
    public var uri: String
    /// The protocol version the request came with.
    public var version: HTTPVersion
    /// The client's address (the peer of the TCP connection); nil when unknown.
    public var remoteAddress: SocketAddress?
    /// Whether a fleet peer sent it (with the secret): served here, never forwarded again.
    public var fromPeer = false
    /// Whether it came with a valid redirect grant from a fleet peer (`BlobGrant`): served here,
    /// without client credentials, and never redirected again.
    public var granted = false
    /// Intercept mode: the upstream the client reached through the proxy (its requests' names
    /// carry no prefix); nil on the front.
    public var interceptedUpstream: String?

    public init(head: HTTPRequestHead, body: RequestBody = .empty, remoteAddress: SocketAddress? = nil) {
        self.body = body
        self.remoteAddress = remoteAddress
        uri = Self.originForm(head.uri)
        version = head.version
        method = head.method
        headers = head.headers
        keepAlive = head.isKeepAlive
        // Every request comes this way: the target is split and decoded byte-wise, and a target
        // without `?` or `%` (the usual pull) is used as it is, with no copy.
        if let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = Self.percentDecoded(String(uri[..<mark]))
            let query = String(uri[uri.utf8.index(after: mark)...])
            rawQuery = query
            self.query = Self.parseQuery(query)
        } else {
            path = Self.percentDecoded(uri)
            rawQuery = nil
            query = []
        }
    }

    /// The path and query of a target in absolute form (`http://host/v2/?x`, RFC 9112 §3.2.2,
    /// which a server must accept); other targets as they are.
    static func originForm(_ target: String) -> String {
        if target.utf8.first == UInt8(ascii: "/") { return target }
        let lowered = target.prefix(8).lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else { return target }
        let afterScheme = target[target.index(target.firstIndex(of: ":")!, offsetBy: 3)...]
        guard let start = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
        let rest = afterScheme[start...]
        return rest.hasPrefix("?") ? "/" + rest : String(rest)
    }

    /// The first value of query parameter `name`.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    static func parseQuery(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecoded(String(parts[0]))
            let value = parts.count > 1 ? percentDecoded(String(parts[1]).replacingPlus) : ""
            return (name, value)
        }
    }

    /// Decodes `%XX` escapes; a `%` not followed by two hex digits is kept as it is.
    static func percentDecoded(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        let input = Array(text.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "%"), index + 2 < input.count,
               let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2]) {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension String {
    fileprivate var replacingPlus: String { utf8.contains(UInt8(ascii: "+")) ? split(separator: "+", omittingEmptySubsequences: false).joined(separator: " ") : self }
}
