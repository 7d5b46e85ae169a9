import LayoverStore
import LayoverUpstream
import LayoverWire
import NIOHTTP1

extension RegistryResponder {
    /// `GET /v2/<name>/referrers/<digest>[?artifactType=]` (OCI 1.1): manifests pushed here that
    /// name the digest as their subject (whether or not the subject exists), merged with the
    /// upstream's list when it has one, less those deleted here. A subject without referrers
    /// answers `200` with an empty index; a filter is announced with `OCI-Filters-Applied`.
    func referrers(_ request: Request, name: String, digest text: String) async throws -> Response {
        let (client, repository) = try resolve(request, name: name)
        let subject = try Self.digest(text)
        var index = ReferrersIndex()
        // An upstream without the referrers API, or one that cannot be asked now, lists nothing.
        if let bytes = try? await client.referrers(repository.repository, subject) { index.merge(upstream: bytes) }
        index.merge(local: pull.store.referrers(repository, subject: subject))
        index.remove { pull.store.isDeleted(repository, $0) }
        let filter = request.queryValue("artifactType")
        var response = Response.json(String(decoding: index.json(artifactType: filter), as: UTF8.self))
        response.headers.replaceOrAdd(name: "Content-Type", value: MediaType.ociIndex)
        if filter != nil { response.headers.add(name: "OCI-Filters-Applied", value: "artifactType") }
        return response
    }
}
