import AsyncHTTPClient
import LayoverWire
import NIOHTTP1

extension RegistryClient {
    /// `DELETE manifests/<reference>` or `blobs/<digest>` upstream (only where the operator
    /// enabled deletion). Returns normally when the upstream accepted it, or when it no longer
    /// has what was deleted (a retry after an attempt whose answer was lost). A refusal carries
    /// the upstream's own words (distribution answers a tag deletion `400 DIGEST_INVALID`).
    public func delete(_ repository: RepositoryName, kind: String, reference: String) async throws(UpstreamError) {
        let response = try await send(Call(method: .DELETE, path: "/v2/\(repository.value)/\(kind)/\(reference)",
                                           scope: "repository:\(repository.value):delete", deadline: .seconds(60)))
        let detail = await Self.errorDetail(response)
        switch response.status.code {
        case 200..<300, 404: return
        default: throw Self.pushRefusal("deletion of \(kind)/\(reference)", response, detail: detail)
        }
    }
}
