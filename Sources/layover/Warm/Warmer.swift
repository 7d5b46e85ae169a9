import Foundation
import LayoverWire

/// Walks an image or a BuildKit cache (index → manifests → config and layers) and pulls every
/// blob through a `WarmSource`, a few at a time.
struct Warmer: Sendable {
    var source: any WarmSource
    /// `os/arch[/variant]`: only that platform's manifests of an index; nil for all.
    var platform: String?
    var parallelDownloads = 4

    /// What one warm moved.
    struct Summary: Sendable {
        var manifests = 0
        var blobs = 0
        var bytes: Int64 = 0
    }

    func warm(_ image: ImageReference, progress: ProgressLine) async throws -> Summary {
        var summary = Summary()
        var blobs: [Descriptor] = []
        try await collect(image.name, image.reference, depth: 0, into: &blobs, summary: &summary)
        var seen = Set<Digest>()
        blobs = blobs.filter { seen.insert($0.digest).inserted }
        progress.expect(blobs.reduce(0) { $0 + $1.size })
        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = blobs[...]
            func startNext() {
                guard let blob = pending.popFirst() else { return }
                group.addTask { try await source.blob(image.name, blob.digest, progress: progress.advance) }
            }
            for _ in 0..<parallelDownloads { startNext() }
            while try await group.next() != nil { startNext() }
        }
        summary.blobs = blobs.count
        summary.bytes = blobs.reduce(0) { $0 + $1.size }
        return summary
    }

    /// Adds the blobs `reference` needs; an index's child manifests are followed (two levels at most).
    private func collect(_ name: String, _ reference: Reference, depth: Int,
                         into blobs: inout [Descriptor], summary: inout Summary) async throws {
        let manifest = try await source.manifest(name, reference)
        summary.manifests += 1
        if let config = manifest.config { blobs.append(config) }
        blobs.append(contentsOf: manifest.layers)
        let wanted = Self.children(of: manifest, platform: platform)
        for child in manifest.manifests {
            if Self.isManifest(child.mediaType) {
                guard depth < 2, wanted.contains(child.digest) else { continue }
                try await collect(name, .digest(child.digest), depth: depth + 1, into: &blobs, summary: &summary)
            } else {
                // A BuildKit cache in index form lists its cache config and layers here directly.
                blobs.append(child)
            }
        }
    }

    static func isManifest(_ mediaType: String?) -> Bool {
        guard let mediaType else { return false }
        return MediaType.defaultManifestAccept.contains(mediaType)
    }

    /// The child digests of an index that match `platform` (all when nil).
    static func children(of manifest: Manifest, platform: String?) -> Set<Digest> {
        let all = Set(manifest.manifests.map(\.digest))
        guard let platform else { return all }
        guard let object = try? JSONSerialization.jsonObject(with: Data(manifest.bytes)) as? [String: Any],
              let entries = object["manifests"] as? [[String: Any]] else { return all }
        var matching = Set<Digest>()
        for entry in entries {
            guard let text = entry["digest"] as? String, let digest = try? Digest(parsing: text),
                  let platformObject = entry["platform"] as? [String: Any],
                  let os = platformObject["os"] as? String, let architecture = platformObject["architecture"] as? String
            else { continue }
            var name = "\(os)/\(architecture)"
            if let variant = platformObject["variant"] as? String, platform.split(separator: "/").count == 3 { name += "/\(variant)" }
            if name == platform { matching.insert(digest) }
        }
        return matching
    }
}
