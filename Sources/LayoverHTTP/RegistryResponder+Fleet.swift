import Foundation
import AsyncHTTPClient
import LayoverFleet
import LayoverMetrics
import LayoverStore
import LayoverWire
import NIOCore
import NIOHTTP1

extension RegistryResponder {
    /// Whether `request` comes from a fleet peer. A request that carries a peer header without the
    /// fleet's secret (or reaches a node outside a fleet) is refused: the peer side, which skips
    /// client authentication, is never open to clients.
    func isPeerRequest(_ request: Request) throws(OCIError) -> Bool {
        let claimed = !request.headers[PeerHeaders.secret].isEmpty || !request.headers[PeerHeaders.hop].isEmpty
        guard claimed else { return false }
        guard let fleet, request.headers[PeerHeaders.secret].count == 1,
              fleet.secret.matches(request.headers.first(name: PeerHeaders.secret)) else {
            Telemetry.peerRefused()
            logger.warning("peer request without the fleet secret refused", metadata: ["remote": "\(request.remoteAddress?.ipAddress ?? "-")"])
            throw OCIError(status: 401, code: .unauthorized, message: "peer requests need the fleet secret")
        }
        return true
    }

    /// `request` marked as granted when it carries a redirect grant (`BlobGrant`) valid for its
    /// blob, the grant removed; nil when it carries none. Any other grant is refused `401`:
    /// expired, altered, for another blob or another route, or outside a fleet.
    func withGrant(_ request: Request, _ route: Route) throws(OCIError) -> Request? {
        guard let grant = request.queryValue(BlobGrant.queryName) else { return nil }
        guard let fleet, case .blob(let name, let digest) = route, request.method == .GET || request.method == .HEAD,
              BlobGrant.isValid(grant, fleet.secret, name: name, digest: digest, namespace: request.queryValue("ns"),
                                now: Date().timeIntervalSince1970) else {
            logger.info("redirect grant refused", metadata: ["remote": "\(request.remoteAddress?.ipAddress ?? "-")"])
            throw OCIError(status: 401, code: .unauthorized, message: "the redirect's grant is not valid for this request (expired, altered or for another blob)",
                           headers: [("WWW-Authenticate", Self.challenge)])
        }
        var granted = request
        granted.granted = true
        granted.query.removeAll { $0.name == BlobGrant.queryName }
        return granted
    }

    /// A `307` to the member that serves this blob download (see `Fleet.blobRedirect`), when the
    /// fleet redirects blobs; nil to serve here. Never for a peer's or an already redirected request.
    func blobRedirect(_ request: Request, name: String, digest: Digest) -> Response? {
        guard let fleet, fleet.redirectsBlobs, request.method == .GET, !request.fromPeer, !request.granted,
              request.interceptedUpstream == nil,
              let location = fleet.blobRedirect(name: name, digest: digest, namespace: request.queryValue("ns"),
                                                heldHere: pull.store.record(for: digest) != nil,
                                                host: request.headers.first(name: "host")) else { return nil }
        Telemetry.blobRedirected()
        var headers = HTTPHeaders()
        headers.add(name: "Location", value: location)
        headers.add(name: "Docker-Content-Digest", value: digest.description)
        headers.add(name: "Content-Length", value: "0")
        return Response(status: .temporaryRedirect, headers: headers)
    }

    /// A peer's request as its client sent it: from the client's address, not the peer's.
    static func asSentByClient(_ request: Request) -> Request {
        var request = request
        request.fromPeer = true
        if let client = request.headers.first(name: PeerHeaders.client), let address = try? SocketAddress(ipAddress: client, port: 0) {
            request.remoteAddress = address
        }
        return request
    }

    /// The repository owner's answer when `route` is one the owner must apply (uploads, manifest
    /// `PUT`, tag `DELETE`, tag reads and tag lists) and this node is not the owner; nil to serve
    /// here. A peer's request is always served here (one hop at most).
    func forwardedToOwner(_ request: Request, _ route: Route) async throws -> Response? {
        // An intercepted request's names carry no prefix: it is served here.
        guard let fleet, !request.fromPeer, request.interceptedUpstream == nil else { return nil }
        let name: String
        switch route {
        case .upload(let repository, _), .tags(let repository):
            name = repository
        case .manifest(let repository, let reference):
            let byTag = (try? Digest(parsing: reference)) == nil
            guard request.method == .PUT || byTag else { return nil }
            name = repository
        default:
            return nil
        }
        if case .upload(_, _?) = route, let named = request.queryValue(PeerHeaders.uploadOwner) {
            // The session lives where its Location says, even after the members changed; a URL
            // that is not a member now is never contacted (it came from a client).
            if named == fleet.membership.me.url { return nil }
            if let owner = fleet.membership.member(named: named) { return try await forward(request, to: owner) }
        }
        let (_, repository) = try resolve(request, name: name)
        guard let owner = fleet.membership.owner(of: repository) else { return nil }
        do {
            return try await forward(request, to: owner)
        } catch where Self.canServeHere(request, route) {
            // The owner is down: this node applies the request itself (its own queue replicates a
            // push) rather than fail it; read-your-writes across nodes waits for the owner's return.
            logger.notice("owner unreachable; serving here", metadata: ["owner": "\(owner)", "repository": "\(repository)"])
            return nil
        }
    }

    /// Whether a request its owner could not take may be served here instead: not part of an
    /// upload session (whose bytes are on the owner), and its body not yet read.
    static func canServeHere(_ request: Request, _ route: Route) -> Bool {
        if case .upload(_, _?) = route { return false }
        return !request.body.wasRequested
    }

    /// An upload answer whose `Location` names this node as the session's owner (in a fleet), so
    /// the session's next requests reach it through any balancer.
    func namingUploadOwner(_ response: Response, _ route: Route) -> Response {
        guard let fleet, case .upload = route, let location = response.headers.first(name: "location"),
              location.contains("/blobs/uploads/"), !location.contains("\(PeerHeaders.uploadOwner)=") else { return response }
        var named = response
        let owner = "\(PeerHeaders.uploadOwner)=\(Escaping.queryValue(fleet.membership.me.url))"
        named.headers.replaceOrAdd(name: "Location", value: location + (location.contains("?") ? "&" : "?") + owner)
        return named
    }

    /// A peer asking this node, as the digest's previous owner, for a stored copy only.
    func wantsStoredOnly(_ request: Request, _ digest: Digest) -> Bool {
        request.fromPeer && !request.headers[PeerHeaders.storedOnly].isEmpty && pull.store.record(for: digest) == nil
    }

    /// After a blob or manifest by digest was not found here or upstream: the repository owner's
    /// answer, which holds pushes not yet replicated; nil outside a fleet, for a peer's request, or
    /// when this node is the owner.
    func ownerAnswerAfterMiss(_ request: Request, _ repository: RepositoryKey) async throws -> Response? {
        guard let fleet, !request.fromPeer, request.interceptedUpstream == nil, let owner = fleet.membership.owner(of: repository),
              let answer = try? await forward(request, to: owner) else { return nil }
        return answer.status == .notFound ? nil : answer
    }

    /// Sends `request` on to `owner` and relays its answer, both bodies streamed.
    private func forward(_ request: Request, to owner: Member) async throws -> Response {
        guard let fleet else { throw OCIError(status: 500, code: .unavailable, message: "no fleet") }
        let length = request.headers.first(name: "content-length").flatMap { Int64($0) }
        let hasBody = length.map { $0 > 0 } ?? request.headers["transfer-encoding"].contains { $0.lowercased().contains("chunked") }
        let answer: HTTPClientResponse
        do {
            answer = try await fleet.forward(to: owner, method: request.method, target: Self.target(request),
                                             headers: request.headers, body: hasBody ? request.body : nil, length: length,
                                             client: request.remoteAddress?.ipAddress)
        } catch {
            Telemetry.peerError()
            logger.warning("forwarding to the owner failed", metadata: ["owner": "\(owner)", "error": "\(error)"])
            throw OCIError(status: 503, code: .unavailable, message: "the node that owns this repository (\(owner)) cannot be reached")
        }
        return Self.relayed(answer, to: request)
    }

    /// Another server's answer relayed to the client: its headers but those of the connection
    /// (each `Location` through `location`), its body streamed as it arrives.
    static func relayed(_ answer: HTTPClientResponse, to request: Request,
                        location: (String) -> String = { $0 }) -> Response {
        var headers = HTTPHeaders()
        for (name, value) in answer.headers where !["connection", "keep-alive", "transfer-encoding"].contains(name.lowercased()) {
            headers.add(name: name, value: name.lowercased() == "location" ? location(value) : value)
        }
        let bodyless = request.method == .HEAD || answer.status == .noContent || answer.status == .notModified
        return Response(status: answer.status, headers: headers, body: bodyless ? .empty : .stream(ForwardedBody(answer.body)))
    }

    /// The path and query to send on: the query as authorization left it (a forbidden mount
    /// removed), re-encoded.
    static func target(_ request: Request) -> String {
        let path = String(request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0])
        guard !request.query.isEmpty else { return path }
        return path + "?" + request.query.map { "\(Escaping.queryValue($0.name))=\(Escaping.queryValue($0.value))" }.joined(separator: "&")
    }
}
