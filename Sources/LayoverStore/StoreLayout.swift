import LayoverWire

/// Where things live under the store root:
/// `blobs/<alg>/<first two hex>/<hex>`, `ingest/<id>`, `index.sqlite`.
public struct StoreLayout: Sendable {
    /// The store's root directory.
    public let root: String

    public init(root: String) {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }

    public var blobsDirectory: String { root + "/blobs" }
    public var ingestDirectory: String { root + "/ingest" }
    public var indexPath: String { root + "/index.sqlite" }
    /// Held (`flock`) by the one process that has the store open.
    public var lockPath: String { root + "/lock" }
    /// Blobs `verify` found corrupt, kept for inspection, outside the store's budget and index.
    public var quarantineDirectory: String { root + "/quarantine" }

    /// The directory holding `digest`'s file.
    public func blobDirectory(for digest: Digest) -> String {
        "\(blobsDirectory)/\(digest.algorithm.rawValue)/\(digest.encoded.prefix(2))"
    }

    /// The verified, immutable file for `digest`.
    public func blobPath(for digest: Digest) -> String {
        "\(blobDirectory(for: digest))/\(digest.encoded)"
    }

    /// The file an ingest with `id` writes to.
    public func ingestPath(id: String) -> String { "\(ingestDirectory)/\(id)" }
}
