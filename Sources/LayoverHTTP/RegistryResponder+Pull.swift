import Foundation
import LayoverMetrics
import LayoverPull
import LayoverStore
import LayoverUpstream
import LayoverWire
import NIOCore
import NIOHTTP1

extension RegistryResponder {
    /// `GET`/`HEAD manifests/<reference>`. A reference that is neither a valid tag nor a valid
    /// digest names nothing that can exist: `404 MANIFEST_UNKNOWN`, as registries answer a probe
    /// (a `PUT` of one is refused with `400`). A reference deleted here is unknown at once.
    func manifest(_ request: Request, name: String, reference: String) async throws -> Response {
        let (client, repository) = try resolve(request, name: name)
        guard let parsed = try? Reference(parsing: reference) else {
            throw OCIError.manifestUnknown(Escaping.logValue(reference))
        }
        let withBody = request.method == .GET
        let answer: ManifestAnswer
        do {
            answer = try await pull.manifest(client, repository, parsed, accept: Self.acceptList(request.headers), withBody: withBody,
                                             askPeers: !request.fromPeer)
        } catch {
            if case .manifestUnknown = error, let owners = try await ownerAnswerAfterMiss(request, repository) { return owners }
            throw OCIError(error)
        }
        if request.fromPeer, withBody, case .digest = parsed { Telemetry.peerFillServed() }
        return Self.manifestResponse(answer)
    }

    /// The `200` answer for a manifest the pull service gave.
    static func manifestResponse(_ answer: ManifestAnswer) -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: answer.mediaType)
        headers.add(name: "Content-Length", value: String(answer.size))
        headers.add(name: "Docker-Content-Digest", value: answer.digest.description)
        headers.add(name: "ETag", value: "\"\(answer.digest)\"")
        if answer.stale { headers.add(name: "Warning", value: "110 layover \"Response is stale\"") }
        guard let lease = answer.body else { return Response(status: .ok, headers: headers) }
        return Response(status: .ok, headers: headers, body: .file(lease, ByteSpan(offset: 0, count: answer.size)))
    }

    /// `GET`/`HEAD blobs/<digest>`. `Range` applies to `GET` only and is looked at once the blob
    /// is known to exist (an unknown blob is `404` whatever its range); a `Range` whose `If-Range`
    /// does not match the ETag is ignored (RFC 9110 §13.1.5). Ranges are cut from verified,
    /// stored bytes only.
    func blob(_ request: Request, name: String, digest text: String) async throws -> Response {
        let (client, repository) = try resolve(request, name: name)
        let digest = try Self.digest(text)
        let withBody = request.method == .GET
        let etag = "\"\(digest)\""
        let rangeHeader = withBody ? Self.applicableRange(request.headers, etag: etag) : nil
        if wantsStoredOnly(request, digest) { throw OCIError(PullError.blobUnknown(digest)) }
        if let redirect = blobRedirect(request, name: name, digest: digest) { return redirect }
        let answer: BlobAnswer
        do {
            answer = try await pull.blob(client, repository, digest, withBody: withBody, ranged: rangeHeader != nil,
                                         askPeers: !request.fromPeer)
        } catch {
            if case .blobUnknown = error, let owners = try await ownerAnswerAfterMiss(request, repository) { return owners }
            throw OCIError(error)
        }
        if request.fromPeer, withBody { Telemetry.peerFillServed() }
        return try Self.blobResponse(answer, digest: digest, etag: etag, range: rangeHeader)
    }

    /// The answer for a blob the pull service gave: `200`, or `206` for the satisfiable `range`
    /// (a `Range` value, see `applicableRange`); throws `416` or a malformed range's error, the
    /// lease then released.
    static func blobResponse(_ answer: BlobAnswer, digest: Digest, etag: String, range rangeHeader: String?) throws(OCIError) -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Docker-Content-Digest", value: digest.description)
        headers.add(name: "Content-Type", value: "application/octet-stream")
        headers.add(name: "Accept-Ranges", value: "bytes")
        headers.add(name: "ETag", value: etag)
        switch answer {
        case .upstreamHead(let size):
            if let size { headers.add(name: "Content-Length", value: String(size)) }
            return Response(status: .ok, headers: headers)
        case .stored(let record, let lease):
            guard let lease else {
                headers.add(name: "Content-Length", value: String(record.size))
                return Response(status: .ok, headers: headers)
            }
            var span = ByteSpan(offset: 0, count: record.size)
            var status = HTTPResponseStatus.ok
            if let rangeHeader {
                let range: ByteRangeRequest?
                do { range = try ByteRangeRequest.parse(rangeHeader) } catch {
                    lease.release()
                    throw OCIError(error)
                }
                if let range {
                    guard let resolved = range.resolve(length: record.size) else {
                        lease.release()
                        throw Self.rangeNotSatisfiable(size: record.size)
                    }
                    span = resolved
                    status = .partialContent
                    headers.add(name: "Content-Range", value: span.contentRange(length: record.size))
                }
            }
            headers.add(name: "Content-Length", value: String(span.count))
            return Response(status: status, headers: headers, body: .file(lease, span))
        case .streaming(let size, let source):
            if let size { headers.add(name: "Content-Length", value: String(size)) }
            return Response(status: .ok, headers: headers, body: .stream(source))
        }
    }

    /// The `Range` value to honour: none when absent, of a unit other than bytes, or made
    /// conditional by an `If-Range` that is not our (strong) ETag — a date never matches, since
    /// blobs carry no `Last-Modified`.
    static func applicableRange(_ headers: HTTPHeaders, etag: String) -> String? {
        guard let range = headers.first(name: "range"),
              range.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("bytes=") else { return nil }
        if let condition = headers.first(name: "if-range"), condition.trimmingCharacters(in: .whitespaces) != etag { return nil }
        return range
    }

    /// The upstream's whole tag list (every page) merged with tags pushed here and not yet replicated, less tags
    /// deleted here: sorted, paged with `n` and `last`, with a `Link` to the next page.
    func tags(_ request: Request, name: String) async throws -> Response {
        let (client, repository) = try resolve(request, name: name)
        let local = ((try? pull.store.localTags(repository)) ?? []).filter(\.pushPending).map(\.tag)
        var upstreamTags: [String] = []
        do throws(UpstreamError) {
            upstreamTags = try await client.allTags(repository.repository)
        } catch .notFound {
            if local.isEmpty { throw OCIError.nameUnknown("repository \(repository) is not known upstream") }
        } catch {
            if local.isEmpty { throw OCIError(PullError.upstream(error)) }
        }
        let merged = Set(upstreamTags + local).filter { !pull.store.isDeleted(repository, $0) }
        let page = TagList.page(merged.sorted(), count: request.queryValue("n").flatMap(Int.init),
                                last: request.queryValue("last"))
        let body = TagList.encode(name: repository.repository.value, tags: page.tags)
        var response = Response.json(body)
        if page.more, let last = page.tags.last {
            let namespace = request.queryValue("ns").map { "&ns=\(Escaping.queryValue($0))" } ?? ""
            response.headers.add(name: "Link", value: "</v2/\(name)/tags/list?n=\(page.tags.count)&last=\(Escaping.queryValue(last))\(namespace)>; rel=\"next\"")
        }
        return response
    }

    static func rangeNotSatisfiable(size: Int64) -> OCIError {
        OCIError(status: 416, code: .rangeInvalid, message: "range not satisfiable",
                 headers: [("Content-Range", "bytes */\(size)")])
    }

}

extension OCIError {
    /// The answer a client sees for a pull that failed.
    init(_ error: PullError) {
        switch error {
        case .manifestUnknown(let reference):
            self = .manifestUnknown(reference)
        case .blobUnknown(let digest):
            self = .blobUnknown(digest.description)
        case .blobUnknownUpstreamDown(let digest, let reason):
            self = OCIError(status: 404, code: .blobUnknown,
                            message: "blob \(digest) is not stored here and the upstream cannot be asked now (\(reason))")
        case .manifestUnknownUpstreamDown(let reference, let reason):
            self = OCIError(status: 404, code: .manifestUnknown,
                            message: "manifest \(reference) is not stored here and the upstream cannot be asked now (\(reason))")
        case .upstream(.rateLimited(let retryAfter)):
            self = .tooManyRequests(retryAfter: retryAfter)
        case .upstream(.unauthorized(let detail)):
            // RFC 9110 §15.5.2: a 401 carries a challenge.
            self = OCIError(status: 401, code: .unauthorized, message: "the upstream refused Layover's credentials: \(detail)",
                            headers: [("WWW-Authenticate", "Basic realm=\"layover\"")])
        case .upstream(.refused(status: 403, let detail)):
            self = OCIError(status: 403, code: .denied, message: detail)
        case .upstream(.notFound):
            self = OCIError(status: 404, code: .nameUnknown, message: "not found upstream")
        case .upstream(.tooLarge(let size)):
            let known = size > Manifest.maximumSize + 1 ? "of \(size) bytes" : "sent without a length"
            self = OCIError(status: 502, code: .manifestInvalid,
                            message: "upstream manifest \(known) exceeds the \(Manifest.maximumSize)-byte (4 MiB) limit")
        case .upstream(.unavailable(let detail)):
            self = OCIError(status: 503, code: .unavailable, message: "upstream unavailable: \(detail)")
        case .upstream(let other):
            self = OCIError(status: 502, code: .unavailable, message: "upstream failed: \(other)")
        case .interrupted(let detail), .store(let detail):
            self = OCIError(status: 500, code: .unavailable, message: detail)
        }
    }
}
