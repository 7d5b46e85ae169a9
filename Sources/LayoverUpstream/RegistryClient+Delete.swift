import AsyncHTTPClient
import LayoverWire
import NIOHTTP1

extension RegistryClient {
    /// `DELETE manifests/<reference>` or `blobs/<digest>` upstream (only where the operator
    /// enabled deletion). Returns normally when the upstream accepted it (202).
    public func delete(_ repository: RepositoryName, kind: String, reference: String) async throws(UpstreamError) {
        let response = try await send(Call(method: .DELETE, path: "/v2/\(repository.value)/\(kind)/\(reference)",
                                           scope: "repository:\(repository.value):delete", deadline: .seconds(60)))
        await Self.drain(response)
        switch response.status.code {
        case 200..<300: return
        case 404: throw .notFound
        case 401, 403: throw .unauthorized("upstream refused the deletion (\(response.status.code))")
        case 405: throw .protocolViolation("upstream does not allow deletion")
        default: throw .unavailable("deletion answered \(response.status.code)")
        }
    }
}
