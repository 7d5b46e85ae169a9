import AsyncHTTPClient
import NIOCore
import NIOHTTP1

extension RegistryClient {
    /// What the upstream answered a relayed request.
    public struct RelayedAnswer: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
    }

    /// One request to the upstream exactly as a client behind intercept mode sends it: `target`
    /// (path and query) on the upstream's URL, with the client's own `Authorization` as it is
    /// (none when nil) and none of Layover's credentials; no redirect followed; answered within
    /// 15 s; its body (at most `maximumBody` bytes) read and dropped.
    /// `accept`: the client's `Accept` values (a manifest `HEAD` needs them: a registry answers
    /// `404` for a manifest of a type the request does not accept).
    public func relay(_ method: HTTPMethod, target: String, authorization: String?, accept: [String] = [],
                      maximumBody: Int = 1 << 20) async throws(UpstreamError) -> RelayedAnswer {
        var request = HTTPClientRequest(url: upstream.url + target)
        request.method = method
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        for value in accept { request.headers.add(name: "Accept", value: value) }
        do {
            let response = try await http.execute(request, deadline: .now() + .seconds(15), logger: logger)
            _ = try await response.body.collect(upTo: maximumBody)
            return RelayedAnswer(status: Int(response.status.code), headers: response.headers)
        } catch {
            throw .unavailable("\(upstream.name): \(error)")
        }
    }
}

extension RegistryClient {
    /// A client for this upstream that sends `authorization` (a client's own credential, in
    /// intercept mode) on every request instead of Layover's credentials, and never fetches a
    /// token itself. It shares the HTTP connections; its health and breaker are its own.
    public func acting(with authorization: String) -> RegistryClient {
        var anonymous = upstream
        anonymous.credentials = nil
        return RegistryClient(upstream: anonymous, http: http, retryPolicy: retryPolicy, logger: logger,
                              clientAuthorization: authorization)
    }
}

extension RegistryClient {
    /// Headers that belong to one connection, or that the HTTP client sets itself.
    static let notPassedOn: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                                            "upgrade", "host", "expect", "content-length", "proxy-authorization"]

    /// A client's request sent on to the upstream as it is (intercept mode, a push Layover does
    /// not take): `target` on the upstream's URL, the client's headers (its `Authorization`
    /// included) but those of the connection, the body streamed with backpressure. The answer's
    /// body is the caller's to relay.
    public func passThrough<Body: AsyncSequence & Sendable>(
        _ method: HTTPMethod, target: String, headers: HTTPHeaders, body: Body?, length: Int64?
    ) async throws(UpstreamError) -> HTTPClientResponse where Body.Element == ByteBuffer {
        var request = HTTPClientRequest(url: upstream.url + target)
        request.method = method
        for (name, value) in headers where !Self.notPassedOn.contains(name.lowercased()) {
            request.headers.add(name: name, value: value)
        }
        if let body { request.body = .stream(body, length: length.map { .known($0) } ?? .unknown) }
        do {
            // The answer's head comes after the whole body: an upload may take long.
            return try await http.execute(request, deadline: .now() + (body == nil ? .seconds(30) : .hours(6)), logger: logger)
        } catch {
            throw .unavailable("\(upstream.name): \(error)")
        }
    }
}
