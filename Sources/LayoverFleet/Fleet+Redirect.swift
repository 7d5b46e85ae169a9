import AsyncHTTPClient
import Foundation
import LayoverWire
import NIOCore

extension Fleet {
    /// Where a client should fetch `digest` instead, when blob redirects are on: the URL of the
    /// same blob on the member that will serve it, carrying a grant (see `BlobGrant`); nil to
    /// serve it here.
    ///
    /// The member that serves a blob is this node when it holds it, else the digest's owner (this
    /// node again when the owner's last probe failed). A client that addressed that member
    /// directly (its `Host` is the member's) is served in place; any other, as one that came
    /// through a balancer, is sent to the member's own URL, so the body never crosses the
    /// balancer or a second node.
    /// - Parameters:
    ///   - name: the repository as the client wrote it in the path.
    ///   - namespace: the request's `ns`, kept in the new URL.
    ///   - heldHere: whether this node's store has the blob.
    ///   - host: the request's `Host`.
    public func blobRedirect(name: String, digest: Digest, namespace: String?, heldHere: Bool, host: String?) -> String? {
        guard redirectsBlobs else { return nil }
        var server = membership.me
        if !heldHere, let owner = membership.owner(of: digest), probeFailures.withLock({ $0[owner] ?? 0 }) < Self.failuresForDown {
            server = owner
        }
        if server.isAddressed(byHost: host) { return nil }
        let grant = BlobGrant.make(secret, name: name, digest: digest.description, namespace: namespace,
                                   now: Date().timeIntervalSince1970)
        let namespaceItem = namespace.map { "ns=\($0)&" } ?? ""
        return "\(server.url)/v2/\(name)/blobs/\(digest)?\(namespaceItem)\(BlobGrant.queryName)=\(grant)"
    }

    /// Probes failed in a row before a member gets no redirects: one slow answer on a loaded
    /// machine is not a member down (a killed one refuses at once, so two probes find it).
    static let failuresForDown = 2

    /// Asks every other member's `/readyz` once, at most `timeout` each: a member that does not
    /// answer `200` twice in a row gets no redirects until a later probe succeeds.
    public func probeMembers(timeout: TimeAmount = .seconds(2)) async {
        await withTaskGroup(of: Void.self) { group in
            for member in membership.current where member != membership.me {
                group.addTask {
                    var ready = false
                    do {
                        let response = try await self.probeHTTP.execute(HTTPClientRequest(url: member.url + "/readyz"),
                                                                        deadline: .now() + timeout, logger: self.logger)
                        _ = try? await response.body.collect(upTo: 64 << 10)
                        ready = response.status == .ok
                    } catch {}
                    if ready {
                        self.health.reached(member)
                        self.probeFailures.withLock { $0[member] = nil }
                    } else {
                        self.health.failed(member)
                        self.probeFailures.withLock { $0[member, default: 0] += 1 }
                    }
                }
            }
        }
    }
}
