import LayoverPull
import LayoverStore
import LayoverUpstream
import LayoverWire
import NIOHTTP1

extension RegistryResponder {
    /// `DELETE` of a manifest (by tag or digest) or a blob: refused with `405 UNSUPPORTED` unless
    /// the operator enabled deletion for the upstream; then forwarded upstream, and on success
    /// the repository's local tags and links to it are forgotten. Answers 202 as the spec says.
    func delete(_ request: Request, name: String, kind: String, reference: String) async throws -> Response {
        let (client, repository) = try resolve(request, name: name)
        guard deletionAllowed.contains(repository.upstream) else { throw Self.deletionDisabled }
        let parsed: Reference
        do { parsed = try Reference(parsing: reference) } catch { throw OCIError(error) }
        if kind == "blobs", case .tag = parsed { throw OCIError.digestInvalid(reference) }
        do {
            try await client.delete(repository.repository, kind: kind, reference: reference)
        } catch .notFound {
            throw kind == "blobs" ? OCIError.blobUnknown(reference) : OCIError.manifestUnknown(reference)
        } catch {
            throw OCIError(PullError.upstream(error))
        }
        switch parsed {
        case .digest(let digest): try? await pull.store.forget(repository, digest: digest, tag: nil)
        case .tag(let tag): try? await pull.store.forget(repository, digest: nil, tag: tag)
        }
        return Response(status: .accepted, headers: ["Content-Length": "0"])
    }
}
