import AsyncHTTPClient

extension RegistryClient {
    /// Turns a pull answer's failure status into the error that keeps its meaning for the client:
    /// `404` not found, `401` unauthorized, `403` denied (`.refused(status: 403)`), `429` rate
    /// limited with its `Retry-After`; anything else the upstream should not have said.
    /// The body of a failed answer is drained here.
    static func expectPullSuccess(_ response: HTTPClientResponse) async throws(UpstreamError) {
        if (200..<300).contains(response.status.code) { return }
        await drain(response)
        switch response.status.code {
        case 404:
            throw .notFound
        case 401:
            throw .unauthorized("upstream answered 401")
        case 403:
            throw .refused(status: 403, detail: "upstream denied access (403)")
        case 429:
            throw .rateLimited(retryAfter: RetryAfter.seconds(response.headers.first(name: "retry-after")))
        default:
            throw .protocolViolation("upstream answered \(response.status.code)")
        }
    }
}
