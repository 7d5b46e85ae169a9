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
    /// Present only while the store is closed after a clean shutdown (see `BlobStore.closeCleanly`).
    var cleanShutdownPath: String { root + "/clean-shutdown" }
    /// Blobs found corrupt (by `verify`, the scrub, or at startup), kept for inspection, outside the store's budget and index.
    public var quarantineDirectory: String { root + "/quarantine" }

    /// The directory holding `digest`'s file.
    public func blobDirectory(for digest: Digest) -> String {
        "\(blobsDirectory)/\(digest.algorithm.rawValue)/\(digest.encoded.prefix(2))"
    }

    /// The verified, immutable file for `digest`.
    public func blobPath(for digest: Digest) -> String {
        "\(blobDirectory(for: digest))/\(digest.encoded)"
    }

    /// Where `quarantine` moves a corrupt blob's file.
    public func quarantinePath(for digest: Digest) -> String {
        quarantinePath(algorithm: digest.algorithm.rawValue, name: digest.encoded)
    }

    /// Where a file found as `blobs/<algorithm>/<prefix>/<name>` goes when it is not what its
    /// name says (whether or not the name is a digest).
    func quarantinePath(algorithm: String, name: String) -> String {
        "\(quarantineDirectory)/\(algorithm)-\(name)"
    }

    /// The file an ingest with `id` writes to.
    public func ingestPath(id: String) -> String { "\(ingestDirectory)/\(id)" }
}
