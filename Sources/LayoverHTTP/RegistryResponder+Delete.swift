import LayoverPush
import LayoverStore
import LayoverWire
import NIOHTTP1

extension RegistryResponder {
    /// `DELETE` of a manifest (by tag or digest) or a blob: refused with `405 UNSUPPORTED` unless
    /// the operator enabled deletion for the upstream; then applied here at once and written back
    /// upstream by the replication queue. Answers `202` as the spec says.
    func delete(_ request: Request, name: String, kind: String, reference: String) async throws -> Response {
        let (client, repository) = try resolve(request, name: name)
        guard deletionAllowed.contains(repository.upstream) else { throw Self.deletionDisabled }
        let push = try pushService()
        let parsed: Reference
        do { parsed = try Reference(parsing: reference) } catch { throw OCIError(error) }
        let target: DeleteTarget
        switch (kind, parsed) {
        case ("blobs", .tag): throw OCIError.digestInvalid(reference)
        case ("blobs", .digest(let digest)): target = .blob(digest)
        case (_, .digest(let digest)): target = .manifest(digest)
        case (_, .tag(let tag)): target = .tag(tag)
        }
        do {
            try await push.delete(client, repository, target)
        } catch {
            throw OCIError(error)
        }
        return Response(status: .accepted, headers: ["Content-Length": "0"])
    }
}
