import Foundation
import LayoverFleet
import LayoverStore
import LayoverUpstream
import LayoverWire
import NIOCore
import NIOHTTP1

/// Who may do what through intercept mode.
///
/// A client behind `HTTPS_PROXY` sends the upstream's credentials, not Layover's, so Layover's own
/// client authentication does not apply. Instead:
/// - a cached manifest or blob reaches a client only after the upstream confirmed that client's
///   credential may read the repository: one `HEAD` (as the client) per credential and
///   repository, remembered until the credential expires, five minutes at most;
/// - an upstream Layover reaches without credentials of its own, asked by a client that sends
///   none, needs no check: everything cached from it, any client could read from it itself;
/// - `/v2/` and every path outside `/v2/` (a token endpoint on the registry's own host) are
///   relayed to the upstream as the client sent them, so the client sees the upstream's challenge
///   and gets its token as it would without Layover;
/// - misses are fetched with the client's own credential (Layover's, for a client that sends
///   none to an upstream that needs none);
/// - a push is accepted (and written back with Layover's credentials for the upstream) only after
///   the upstream let that client's credential open an upload in the repository (the upload is
///   cancelled at once), remembered as reads are; such a client also reads what the upstream does
///   not have yet (a push not yet written back); to an upstream Layover holds no credentials
///   for, a push is passed through to the upstream as it is, synchronously, with the client's
///   own credential (nothing of it is stored here).
extension RegistryResponder {
    /// Serve `request` (as Layover serves it), or send this answer.
    enum InterceptDecision {
        case serve(Request)
        case answer(Response)
    }

    func intercepted(_ request: Request, _ route: Route, upstream name: String) async throws -> InterceptDecision {
        guard let client = pull.upstreams.client(named: name) else {
            throw OCIError.nameUnknown("upstream \(name) is not configured")
        }
        let authorization = request.headers.first(name: "authorization")
        let needsCheck = client.upstream.credentials != nil || authorization != nil
        let reads = request.method == .GET || request.method == .HEAD
        switch route {
        case .base:
            // Always the upstream's own answer: a client learns from it whether it needs a token.
            return .answer(try await passedThrough(request, client))
        case .manifest(let path, _) where !reads, .blob(let path, _) where !reads, .upload(let path, _):
            return try await pushChecked(request, client, path, authorization)
        case .manifest(let path, let reference):
            return try await checked(request, client, path, authorization, "manifests/\(reference)", reads: reads, needsCheck: needsCheck)
        case .blob(let path, let digest):
            return try await checked(request, client, path, authorization, "blobs/\(digest)", reads: reads, needsCheck: needsCheck)
        case .tags(let path):
            return try await checked(request, client, path, authorization, "tags/list?n=1", reads: reads, needsCheck: needsCheck)
        case .referrers(let path, let digest):
            return try await checked(request, client, path, authorization, "referrers/\(digest)", reads: reads, needsCheck: needsCheck)
        case .unknown, .notRegistry:
            return .answer(try await passedThrough(request, client))
        case .health, .ready, .metrics, .admin:
            throw OCIError(status: 404, code: .nameUnknown, message: "no such endpoint: \(request.path)")
        }
    }

    /// A read, served once the upstream confirmed the client's credential for the repository
    /// (`probe`: the path after `/v2/<repository>/` the upstream is asked with a `HEAD`, or a
    /// `GET` for lists); the upstream's refusal otherwise, its challenge included.
    private func checked(_ request: Request, _ client: RegistryClient, _ path: String, _ authorization: String?, _ probe: String,
                         reads: Bool, needsCheck: Bool) async throws -> InterceptDecision {
        guard reads else { throw Self.methodNotAllowed }
        guard needsCheck else { return .serve(request) }
        let (_, repository) = try configuredClient(request, name: path)
        let now = Date().timeIntervalSince1970
        if interceptAccess.isConfirmed(authorization, .pull, repository, now: now) { return .serve(request) }
        let method: HTTPMethod = probe.hasPrefix("manifests/") || probe.hasPrefix("blobs/") ? .HEAD : .GET
        let answer: RegistryClient.RelayedAnswer
        do {
            answer = try await client.relay(method, target: "/v2/\(repository.repository.value)/\(probe)", authorization: authorization,
                                            accept: request.headers["accept"], maximumBody: 64 << 10)
        } catch {
            throw OCIError(status: 503, code: .unavailable,
                           message: "cannot confirm with \(client.upstream.name) that this client may read \(repository.repository.value): \(error)")
        }
        switch answer.status {
        case 200...399:
            interceptAccess.confirm(authorization, .pull, repository, now: now)
            return .serve(request)
        case 401:
            throw Self.unauthorized(answer, "\(client.upstream.name) did not accept this client's credential for \(repository.repository.value)")
        case 403:
            throw OCIError(status: 403, code: .denied, message: "\(client.upstream.name) refuses this client \(repository.repository.value)")
        case 404:
            // A push written back later is not upstream yet: a client the upstream lets push to the
            // repository reads what was pushed here (Layover answers from its store, or 404).
            if client.upstream.credentials != nil, await mayPush(client, repository, authorization) {
                return .serve(request)
            }
            throw probe.hasPrefix("blobs/") ? OCIError.blobUnknown(String(probe.dropFirst("blobs/".count)))
                : OCIError(status: 404, code: .nameUnknown, message: "not found at \(client.upstream.name)")
        default:
            throw OCIError(status: 503, code: .unavailable,
                           message: "\(client.upstream.name) answered \(answer.status) when asked whether this client may read \(repository.repository.value)")
        }
    }

    /// A push (upload, manifest `PUT`, `DELETE`), served once the upstream let the client's
    /// credential open an upload in the repository: `POST /v2/<repository>/blobs/uploads/` as the
    /// client, the session it opened cancelled at once. Remembered per credential and repository
    /// as reads are. Layover then writes the push back with its own credentials for the upstream.
    private func pushChecked(_ request: Request, _ client: RegistryClient, _ path: String,
                             _ authorization: String?) async throws -> InterceptDecision {
        guard client.upstream.credentials != nil else { return .answer(try await passedThrough(request, client)) }
        let (_, repository) = try configuredClient(request, name: path)
        let answer: RegistryClient.RelayedAnswer
        do {
            guard let probed = try await pushProbe(client, repository, authorization) else { return .serve(request) }
            answer = probed
        } catch {
            throw OCIError(status: 503, code: .unavailable,
                           message: "cannot confirm with \(client.upstream.name) that this client may push to \(repository.repository.value): \(error)")
        }
        if answer.status == 401 {
            throw Self.unauthorized(answer, "\(client.upstream.name) did not accept this client's credential to push to \(repository.repository.value)")
        }
        throw OCIError(status: 403, code: .denied,
                       message: "\(client.upstream.name) refuses this client a push to \(repository.repository.value) (\(answer.status))")
    }

    /// Whether the upstream lets `authorization` push to `repository` (false when it cannot be asked).
    private func mayPush(_ client: RegistryClient, _ repository: RepositoryKey, _ authorization: String?) async -> Bool {
        do { return try await pushProbe(client, repository, authorization) == nil } catch { return false }
    }

    /// Whether the upstream lets `authorization` push to `repository`: a confirmation still
    /// running, or a `POST` of an upload as the client (the session it opened cancelled at once),
    /// remembered when `2xx`. Nil when allowed; the upstream's refusal otherwise.
    private func pushProbe(_ client: RegistryClient, _ repository: RepositoryKey,
                           _ authorization: String?) async throws(UpstreamError) -> RegistryClient.RelayedAnswer? {
        let now = Date().timeIntervalSince1970
        if interceptAccess.isConfirmed(authorization, .push, repository, now: now) { return nil }
        let answer = try await client.relay(.POST, target: "/v2/\(repository.repository.value)/blobs/uploads/", authorization: authorization,
                                            maximumBody: 64 << 10)
        guard (200...299).contains(answer.status) else { return answer }
        // The session is cancelled on the upstream itself only: its credential goes nowhere else.
        if let location = answer.headers.first(name: "location"), case let target = Self.relative(location, on: client.upstream.url),
           target.hasPrefix("/") {
            _ = try? await client.relay(.DELETE, target: target, authorization: authorization, maximumBody: 64 << 10)
        }
        interceptAccess.confirm(authorization, .push, repository, now: now)
        return nil
    }

    /// `request` sent on to the upstream as it is, bodies streamed both ways, with the client's own
    /// credential: `/v2/`, a token endpoint on the registry's host, or a push to an upstream
    /// Layover holds no credentials for. A `Location` on the
    /// upstream's origin is made relative, so the upload's next request comes back this way.
    private func passedThrough(_ request: Request, _ client: RegistryClient) async throws -> Response {
        let length = request.headers.first(name: "content-length").flatMap { Int64($0) }
        let hasBody = length.map { $0 > 0 } ?? request.headers["transfer-encoding"].contains { $0.lowercased().contains("chunked") }
        let answer = try await client.passThrough(request.method, target: request.uri, headers: request.headers,
                                                  body: hasBody ? request.body : nil, length: length)
        return Self.relayed(answer, to: request) { Self.relative($0, on: client.upstream.url) }
    }

    /// `location` without its origin when that is `upstreamURL`'s; as it is otherwise.
    static func relative(_ location: String, on upstreamURL: String) -> String {
        guard let origin = URLOrigin(upstreamURL), location.lowercased().hasPrefix("http"),
              URLOrigin(location) == origin else { return location }
        let afterScheme = location.drop { $0 != "/" }.dropFirst(2)
        let path = afterScheme.drop { $0 != "/" && $0 != "?" }
        return path.isEmpty ? "/" : String(path)
    }

    /// `401` with the upstream's challenges, so the client gets a token from the upstream's realm.
    private static func unauthorized(_ answer: RegistryClient.RelayedAnswer, _ message: String) -> OCIError {
        OCIError(status: 401, code: .unauthorized, message: message,
                 headers: answer.headers["www-authenticate"].map { ("WWW-Authenticate", $0) })
    }

}
