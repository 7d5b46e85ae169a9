import Foundation
import LayoverStore
import LayoverWire

/// The referrers API's answer (OCI distribution-spec v1.1, end-12): an OCI image index whose
/// `manifests` are the descriptors of every manifest naming the subject. Pure: built from the
/// upstream's own answer and the manifests pushed here, so it is tested without I/O.
struct ReferrersIndex {
    /// Descriptors by digest: one entry per referrer, whichever side listed it.
    private(set) var entries: [String: [String: Any]] = [:]

    /// Adds the `manifests` of an upstream's referrers index; anything else is ignored.
    mutating func merge(upstream bytes: [UInt8]) {
        guard let index = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let manifests = index["manifests"] as? [[String: Any]] else { return }
        for entry in manifests {
            if let digest = entry["digest"] as? String, (try? Digest(parsing: digest)) != nil { entries[digest] = entry }
        }
    }

    /// Adds manifests pushed here; they replace the upstream's entry of the same digest.
    mutating func merge(local records: [ReferrerRecord]) {
        for record in records {
            var entry: [String: Any] = ["mediaType": record.mediaType, "digest": record.digest.description, "size": record.size]
            if let artifactType = record.artifactType { entry["artifactType"] = artifactType }
            if let json = record.annotationsJSON, let annotations = try? JSONSerialization.jsonObject(with: Data(json.utf8)) {
                entry["annotations"] = annotations
            }
            entries[record.digest.description] = entry
        }
    }

    /// Drops referrers deleted here (the upstream may list them until the deletion reaches it).
    mutating func remove(where deleted: (String) -> Bool) {
        entries = entries.filter { !deleted($0.key) }
    }

    /// The index's JSON: entries in digest order, only those of `artifactType` when given.
    func json(artifactType: String?) -> [UInt8] {
        let selected = entries.keys.sorted().compactMap { entries[$0] }
            .filter { artifactType == nil || ($0["artifactType"] as? String) == artifactType }
        let index: [String: Any] = ["schemaVersion": 2, "mediaType": MediaType.ociIndex, "manifests": selected]
        let data = (try? JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return [UInt8](data)
    }
}
