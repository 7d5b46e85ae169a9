import AsyncHTTPClient
import LayoverWire
import NIOHTTP1

extension RegistryClient {
    /// Uploads a blob from a local file: `POST`, then chunks (`PATCH` with `Content-Range`, a
    /// token fresh enough taken for each) and a closing `PUT ?digest=` when the blob is larger
    /// than the upstream's chunk size and the upstream accepts chunks, else one `PUT ?digest=`
    /// with the whole file. A request answered `401` is followed by an upload status `GET` with a
    /// new token, and the upload resumes from the offset the upstream reports; a `401` the new
    /// token does not cure fails the upload as unauthorized (permanent).
    /// `progress` is told the bytes sent by the current request plus the offset it started at.
    public func uploadBlob(_ repository: RepositoryName, _ digest: Digest, size: Int64, path: String,
                           progress: (@Sendable (Int64) -> Void)? = nil) async throws(UpstreamError) {
        let scope = Self.pushScope(repository)
        var plan = UploadPlan(size: size, chunkBytes: upstream.uploadChunkBytes)
        var location = try await startBlobUpload(repository, scope: scope)
        // An upstream that asked for no credentials is never asked for a token.
        let authenticated = tokens.token(for: authorizationKey(scope: scope)) != nil
        while true {
            if authenticated, tokens.token(for: authorizationKey(scope: scope)) == nil {
                // The token ran out between chunks: the status request answers the challenge
                // afresh (a chunk is not sent only to be refused), and says where to go on.
                try await resync(&plan, &location, repository, scope: scope)
            }
            let (offset, length, closing) = plan.request
            let headers: [(String, String)] = closing ? [] : [("Content-Range", "\(offset)-\(offset + length - 1)")]
            let report: (@Sendable (Int64) -> Void)? = progress.map { report in { @Sendable sent in report(offset + sent) } }
            let next: UploadPlan.Next
            let reason: String
            let sent: Result<HTTPClient.Response, UpstreamError>
            do throws(UpstreamError) {
                sent = .success(try await streamFile(closing ? .PUT : .PATCH, to: uploadURL(location, digest: closing ? digest : nil),
                                                     path: path, offset: offset, length: length, headers: headers,
                                                     authorization: tokens.token(for: authorizationKey(scope: scope)), progress: report))
            } catch {
                sent = .failure(error)
            }
            switch sent {
            case .success(let response):
                (next, reason) = try judge(response, closing: closing, plan: &plan, location: &location, scope: scope)
            case .failure(.unavailable(let failure)):
                // The connection broke or stalled mid-request.
                (next, reason) = (plan.failed(failure), failure)
            case .failure(let error):
                throw error
            }
            switch next {
            case .done:
                return
            case .send:
                continue
            case .resync:
                logger.debug("blob upload resyncing", metadata: ["digest": "\(digest)", "offset": "\(plan.offset)", "after": "\(reason)"])
                do {
                    try await resync(&plan, &location, repository, scope: scope)
                } catch .unavailable(let detail) {
                    throw .unavailable("\(reason); then the upload status failed: \(detail)")
                }
            case .restart:
                await cancelUpload(location, scope: scope)
                location = try await startBlobUpload(repository, scope: scope)
                plan.restarted()
            case .fail(let reason, let unauthorized):
                throw unauthorized ? .unauthorized(reason) : .unavailable(reason)
            }
        }
    }

    /// What an upload request's answer means for the plan (and the upload's next `Location`),
    /// with the reason of a failure. A refusal no retry cures is thrown.
    private func judge(_ response: HTTPClient.Response, closing: Bool, plan: inout UploadPlan, location: inout String,
                       scope: String) throws(UpstreamError) -> (UploadPlan.Next, String) {
        let status = Int(response.status.code)
        let detail = response.body.map { Self.printable(String(buffer: $0)) } ?? ""
        let retryAfter = response.headers.first(name: "retry-after")
        switch (status, closing) {
        case (200, true), (201, true), (204, true):
            return (plan.finished(), "")
        case (202, false), (204, false):
            if let moved = response.headers.first(name: "location") { location = moved }
            return (plan.accepted(range: response.headers.first(name: "range")), "")
        case (401, _):
            // The token expired or was revoked mid-upload: the next request fetches another.
            tokens.remove(authorizationKey(scope: scope))
            let reason = "blob \(closing ? "upload" : "chunk") answered 401"
            return (plan.unauthorized(reason), reason)
        case (400, false), (405, false), (415, false), (416, false), (501, false):
            let reason = "blob chunk answered \(status): \(detail)"
            return (plan.chunkRefused(reason), reason)
        case (408, _), (425, _), (429, _), (500...599, _):
            let next = plan.failed("blob upload answered \(status)")
            // Out of tries (or a monolithic upload): the job's schedule, Retry-After included, takes over.
            if case .fail = next { throw Self.pushRefusal("blob upload", status: status, retryAfter: retryAfter, detail: detail) }
            return (next, "blob upload answered \(status)")
        default:
            throw Self.pushRefusal(closing ? "blob upload" : "blob chunk", status: status, retryAfter: retryAfter, detail: detail)
        }
    }

    /// Goes on from where the upstream says the upload stands, or with a new upload when it has
    /// forgotten this one.
    private func resync(_ plan: inout UploadPlan, _ location: inout String, _ repository: RepositoryName,
                        scope: String) async throws(UpstreamError) {
        if let status = try await uploadStatus(location, scope: scope) {
            location = status.location ?? location
            plan.resumed(range: status.range)
        } else {
            location = try await startBlobUpload(repository, scope: scope)
            plan.restarted()
        }
    }

    /// `POST blobs/uploads/`: the new upload's `Location`.
    private func startBlobUpload(_ repository: RepositoryName, scope: String) async throws(UpstreamError) -> String {
        let start = try await send(Call(method: .POST, path: "/v2/\(repository.value)/blobs/uploads/", scope: scope, deadline: .seconds(60)))
        let detail = await Self.errorDetail(start)
        guard start.status == .accepted, let location = start.headers.first(name: "location") else {
            if start.status == .accepted || start.status == .created {
                throw .protocolViolation("upload start answered \(start.status.code) without Location")
            }
            throw Self.pushRefusal("upload start", start, detail: detail)
        }
        return location
    }

    /// `GET <location>`: where the upload stands (`Range`) and the `Location` to go on with; nil
    /// when the upstream no longer knows the upload. Answers any challenge with a fresh token.
    private func uploadStatus(_ location: String, scope: String) async throws(UpstreamError) -> (range: String?, location: String?)? {
        let response = try await send(Call(method: .GET, path: uploadPath(location), scope: scope, deadline: .seconds(30)))
        let detail = await Self.errorDetail(response)
        switch response.status.code {
        case 200..<300: return (response.headers.first(name: "range"), response.headers.first(name: "location"))
        case 400, 404: return nil
        default: throw Self.pushRefusal("upload status", response, detail: detail)
        }
    }

    /// `DELETE <location>`, best effort: an abandoned upload expires upstream anyway.
    private func cancelUpload(_ location: String, scope: String) async {
        if let response = try? await send(Call(method: .DELETE, path: uploadPath(location), scope: scope, deadline: .seconds(30))) {
            await Self.drain(response)
        }
    }
}
