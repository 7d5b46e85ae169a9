import LayoverStore
import LayoverUpstream
import LayoverWire

/// Other nodes of a fleet a miss of content by digest (a blob, a manifest) may be filled from
/// before the upstream (peer fill).
///
/// The answer is only a source of bytes: the fetch writes it to an ingest file and checks the
/// digest at the commit exactly as it does an upstream body, so a peer is never trusted.
public protocol BlobPeers: Sendable {
    /// The digest's owner's body for `digest`, streaming; nil when this node owns the digest or
    /// the owner did not answer in time, or not with the blob (the caller goes upstream).
    func download(_ digest: Digest, repository: RepositoryKey) async -> BlobDownload?

    /// The digest's owner's manifest `digest` of `repository` (asked with the client's `accept`
    /// types), only when its bytes hash to `digest`; nil when this node owns the digest, or the
    /// owner did not answer in time, or not with that manifest (the caller goes upstream).
    func manifest(_ digest: Digest, repository: RepositoryKey, accept: [String]) async -> Manifest?
}
