import AsyncHTTPClient
import LayoverMetrics
import LayoverPull
import LayoverStore
import LayoverUpstream
import LayoverWire
import NIOCore
import NIOHTTP1

extension Fleet: BlobPeers {
    /// Asks the digest's owner for the blob (`GET /v2/<upstream>/<repository>/blobs/<digest>`
    /// with the peer headers). The owner answers from its store or from its own shared upstream
    /// download, streaming; it never asks a peer in turn. Nil (go upstream) when this node owns the
    /// digest, or the owner is down, slow, or answers anything but `200`.
    ///
    /// When this node owns the digest, the previous owner (the owner without this node: a node
    /// that joined takes over keys from exactly those) is asked for a stored copy only.
    public func download(_ digest: Digest, repository: RepositoryKey) async -> BlobDownload? {
        if let owner = membership.owner(of: digest) {
            return await download(digest, repository: repository, from: owner, storedOnly: false)
        }
        if let previous = membership.previousOwner(of: digest) {
            return await download(digest, repository: repository, from: previous, storedOnly: true)
        }
        return nil
    }

    private func download(_ digest: Digest, repository: RepositoryKey, from owner: Member, storedOnly: Bool) async -> BlobDownload? {
        var request = peerRequest(owner, "/v2/\(repository)/blobs/\(digest)")
        if storedOnly { request.headers.add(name: PeerHeaders.storedOnly, value: "1") }
        do {
            let response = try await http.execute(request, deadline: .now() + Self.firstByteTimeout, logger: logger)
            health.reached(owner)
            guard response.status == .ok else {
                if response.status.code >= 500 || response.status == .unauthorized { Telemetry.peerError() }
                logger.debug("peer did not fill the blob; going upstream", metadata: [
                    "peer": "\(owner)", "digest": "\(digest)", "status": "\(response.status.code)"])
                return nil
            }
            Telemetry.peerFillUsed()
            let size = response.headers.first(name: "content-length").flatMap { Int64($0) }
            return BlobDownload(size: size, body: response.body)
        } catch {
            health.failed(owner)
            Telemetry.peerError()
            logger.notice("peer unreachable; going upstream", metadata: ["peer": "\(owner)", "digest": "\(digest)", "error": "\(error)"])
            return nil
        }
    }

    /// Asks the digest's owner for the manifest (`GET /v2/<upstream>/<repository>/manifests/<digest>`
    /// with the peer headers and the client's `Accept` types), as for a blob. The bytes are
    /// checked against `digest` here; anything else (not `200`, too large, unparsable, another
    /// digest, the owner down or slow) is nil: the caller goes upstream.
    public func manifest(_ digest: Digest, repository: RepositoryKey, accept: [String]) async -> Manifest? {
        guard let owner = membership.owner(of: digest) else { return nil }
        var request = peerRequest(owner, "/v2/\(repository)/manifests/\(digest)")
        for type in accept { request.headers.add(name: "Accept", value: type) }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, deadline: .now() + Self.firstByteTimeout, logger: logger)
        } catch {
            health.failed(owner)
            Telemetry.peerError()
            logger.notice("peer unreachable; going upstream", metadata: ["peer": "\(owner)", "digest": "\(digest)", "error": "\(error)"])
            return nil
        }
        health.reached(owner)
        guard response.status == .ok else {
            if response.status.code >= 500 || response.status == .unauthorized { Telemetry.peerError() }
            return nil
        }
        // Too large or cut short: the owner is reachable, its answer is not used.
        guard let body = try? await response.body.collect(upTo: Manifest.maximumSize),
              let manifest = try? Manifest(bytes: Array(body.readableBytesView), contentType: response.headers.first(name: "content-type")),
              manifest.matches(digest) else {
            Telemetry.peerError()
            logger.warning("peer answered another manifest; going upstream", metadata: ["peer": "\(owner)", "digest": "\(digest)"])
            return nil
        }
        Telemetry.peerFillUsed()
        Telemetry.peerFilled(manifest.bytes.count)
        return manifest
    }
}
