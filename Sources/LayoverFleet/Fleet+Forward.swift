import AsyncHTTPClient
import LayoverPull
import LayoverMetrics
import NIOCore
import NIOHTTP1

extension Fleet {
    /// Sends a client's request on to `owner` as a peer request and returns the owner's answer,
    /// its body still streaming. The request body streams with backpressure: the client's
    /// connection is read only as fast as the owner takes the bytes.
    ///
    /// - Parameters:
    ///   - target: the path and query as the client sent them.
    ///   - body: the client's body; nil when the request has none.
    ///   - length: the body's `Content-Length`, when the client sent one.
    ///   - client: the client's address, passed on for the owner's per-client limits.
    public func forward<Body: AsyncSequence & Sendable>(
        to owner: Member, method: HTTPMethod, target: String, headers: HTTPHeaders,
        body: Body?, length: Int64?, client: String?
    ) async throws -> HTTPClientResponse where Body.Element == ByteBuffer {
        var request = peerRequest(owner, target, method: method)
        if let client { request.headers.add(name: PeerHeaders.client, value: client) }
        for (name, value) in headers where !PeerHeaders.hopByHop.contains(name.lowercased()) {
            request.headers.add(name: name, value: value)
        }
        if let body {
            request.body = .stream(body, length: length.map { .known($0) } ?? .unknown)
        }
        Telemetry.forwarded()
        // The deadline bounds the wait for the answer's head, which comes after the whole request
        // body: an upload may take long (a stalled one is cut by the read timeout instead).
        let deadline: NIODeadline = .now() + (body == nil ? Self.forwardedHeadTimeout : .hours(6))
        do {
            let response = try await http.execute(request, deadline: deadline, logger: logger)
            health.reached(owner)
            return response
        } catch {
            health.failed(owner)
            throw error
        }
    }
}
