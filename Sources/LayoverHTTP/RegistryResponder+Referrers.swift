import Foundation
import LayoverStore
import LayoverUpstream
import LayoverWire
import NIOHTTP1

extension RegistryResponder {
    /// `GET /v2/<name>/referrers/<digest>[?artifactType=]` (OCI 1.1): manifests pushed here that
    /// name the digest as their subject, merged with the upstream's list when it has one.
    func referrers(_ request: Request, name: String, digest text: String) async throws -> Response {
        let (client, repository) = try resolve(request, name: name)
        let subject = try Self.digest(text)
        var entries: [String: [String: Any]] = [:]
        if let bytes = try? await client.referrers(repository.repository, subject),
           let index = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
           let manifests = index["manifests"] as? [[String: Any]] {
            for entry in manifests {
                if let digest = entry["digest"] as? String { entries[digest] = entry }
            }
        }
        for record in pull.store.referrers(repository, subject: subject) {
            var entry: [String: Any] = ["mediaType": record.mediaType, "digest": record.digest.description, "size": record.size]
            if let artifactType = record.artifactType { entry["artifactType"] = artifactType }
            if let json = record.annotationsJSON, let annotations = try? JSONSerialization.jsonObject(with: Data(json.utf8)) {
                entry["annotations"] = annotations
            }
            entries[record.digest.description] = entry
        }
        let filter = request.queryValue("artifactType")
        let selected = entries.keys.sorted().compactMap { entries[$0] }
            .filter { filter == nil || ($0["artifactType"] as? String) == filter }
        let index: [String: Any] = ["schemaVersion": 2, "mediaType": MediaType.ociIndex, "manifests": selected]
        let body = String(decoding: try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .withoutEscapingSlashes]),
                          as: UTF8.self)
        var response = Response.json(body)
        response.headers.replaceOrAdd(name: "Content-Type", value: MediaType.ociIndex)
        if filter != nil { response.headers.add(name: "OCI-Filters-Applied", value: "artifactType") }
        return response
    }
}
