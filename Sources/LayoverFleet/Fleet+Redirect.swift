import AsyncHTTPClient
import Foundation
import LayoverWire
import NIOCore

extension Fleet {
    /// Where a client should fetch `digest` instead: the owner's URL for the same blob, carrying
    /// a grant (see `BlobGrant`). Nil when redirects are off, this node owns the digest, or the
    /// owner's last contact failed (this node then serves the blob itself).
    /// - Parameters:
    ///   - name: the repository as the client wrote it in the path.
    ///   - namespace: the request's `ns`, kept in the new URL.
    public func blobRedirect(name: String, digest: Digest, namespace: String?) -> String? {
        guard redirectsBlobs, let owner = membership.owner(of: digest), health.failingFor(owner) == nil else { return nil }
        let grant = BlobGrant.make(secret, name: name, digest: digest.description, namespace: namespace,
                                   now: Date().timeIntervalSince1970)
        let namespaceItem = namespace.map { "ns=\($0)&" } ?? ""
        return "\(owner.url)/v2/\(name)/blobs/\(digest)?\(namespaceItem)\(BlobGrant.queryName)=\(grant)"
    }

    /// Asks every other member's `/readyz` once, at most `timeout` each, and records who answered
    /// `200`: a redirect never sends a client to a member that is down or not ready.
    public func probeMembers(timeout: TimeAmount = .seconds(1)) async {
        await withTaskGroup(of: Void.self) { group in
            for member in membership.current where member != membership.me {
                group.addTask {
                    var request = HTTPClientRequest(url: member.url + "/readyz")
                    request.method = .GET
                    do {
                        let response = try await self.http.execute(request, deadline: .now() + timeout, logger: self.logger)
                        _ = try? await response.body.collect(upTo: 64 << 10)
                        if response.status == .ok { self.health.reached(member) } else { self.health.failed(member) }
                    } catch {
                        self.health.failed(member)
                    }
                }
            }
        }
    }
}
