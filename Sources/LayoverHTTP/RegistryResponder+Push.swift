import LayoverPull
import LayoverPush
import LayoverStore
import LayoverUpstream
import LayoverWire
import NIOCore
import NIOHTTP1

extension RegistryResponder {
    /// `POST /v2/<name>/blobs/uploads/` in its three forms: mount, monolithic, session start.
    func startUpload(_ request: Request, name: String) async throws -> Response {
        let (_, repository) = try resolve(request, name: name)
        let push = try pushService()
        if let mount = request.queryValue("mount"), let from = request.queryValue("from") {
            let digest = try Self.digest(mount)
            let source = (try? pull.upstreams.resolve(name: from, namespace: request.queryValue("ns")).1.repository)
                ?? (try? RepositoryName(from))
            if let source, await push.mount(digest, into: repository, from: source) {
                return Self.blobCreated(request, name: name, digest: digest)
            }
        }
        if let digestText = request.queryValue("digest") {
            let digest = try Self.digest(digestText)
            do {
                _ = try await push.monolithic(repository, digest: digest, client: request.remoteAddress?.ipAddress, body: request.body)
            } catch {
                throw OCIError(error)
            }
            return Self.blobCreated(request, name: name, digest: digest)
        }
        let session: UploadSession
        do {
            session = try await push.startUpload(repository, client: request.remoteAddress?.ipAddress)
        } catch {
            throw OCIError(error)
        }
        return Self.uploadAnswer(request, name: name, session: session, status: .accepted)
    }

    /// `PATCH`, `PUT`, `GET` and `DELETE` of `/v2/<name>/blobs/uploads/<id>`.
    func continueUpload(_ request: Request, name: String, id: String) async throws -> Response {
        let (_, repository) = try resolve(request, name: name)
        let push = try pushService()
        do {
            switch request.method {
            case .PATCH:
                let range = try request.headers.first(name: "content-range").map(Self.contentRange)
                let session = try await push.append(id, in: repository, range: range, body: request.body)
                return Self.uploadAnswer(request, name: name, session: session, status: .accepted)
            case .PUT:
                guard let digestText = request.queryValue("digest") else { throw OCIError.digestInvalid("(missing)") }
                let digest = try Self.digest(digestText)
                _ = try await push.finish(id, in: repository, digest: digest, body: request.body)
                return Self.blobCreated(request, name: name, digest: digest)
            case .GET:
                return Self.uploadAnswer(request, name: name, session: try push.session(id, in: repository), status: .noContent)
            case .DELETE:
                try push.cancel(id, in: repository)
                return Response(status: .noContent)
            default:
                throw Self.methodNotAllowed
            }
        } catch let error as PushError {
            if case .outOfOrder(let range) = error {
                var response = Response.error(OCIError(error))
                response.headers.add(name: "Range", value: range)
                response.headers.add(name: "Location", value: Self.uploadLocation(request, name: name, id: id))
                response.headers.add(name: "Docker-Upload-UUID", value: id)
                return response
            }
            throw OCIError(error)
        }
    }

    /// `PUT /v2/<name>/manifests/<reference>`.
    func putManifest(_ request: Request, name: String, reference: String) async throws -> Response {
        let (client, repository) = try resolve(request, name: name)
        let push = try pushService()
        let parsed: Reference
        do { parsed = try Reference(parsing: reference) } catch { throw OCIError(error) }
        if let length = request.headers.first(name: "content-length").flatMap(Int.init), length > Manifest.maximumSize {
            throw OCIError(PushError.manifestTooLarge(length))
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Manifest.maximumSize)
        } catch RequestBodyError.tooLarge {
            throw OCIError(PushError.manifestTooLarge(Manifest.maximumSize + 1))
        }
        let manifest: Manifest
        do {
            manifest = try await push.putManifest(client, repository, reference: parsed, bytes: Array(body.readableBytesView),
                                                  contentType: request.headers.first(name: "content-type"))
        } catch {
            throw OCIError(error)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Location", value: "/v2/\(name)/manifests/\(manifest.digest)")
        headers.add(name: "Docker-Content-Digest", value: manifest.digest.description)
        // OCI 1.1: the subject was indexed for the referrers API (clients then skip the tag schema).
        if let subject = manifest.subject { headers.add(name: "OCI-Subject", value: subject.digest.description) }
        headers.add(name: "Content-Length", value: "0")
        return Response(status: .created, headers: headers)
    }

    func pushService() throws -> PushService {
        guard let push else { throw OCIError.unsupported("pushes are not enabled") }
        return push
    }

    static func digest(_ text: String) throws -> Digest {
        do { return try Digest(parsing: text) } catch { throw OCIError(error) }
    }

    /// `Content-Range: <start>-<end>` (with or without a `bytes=`/`bytes ` prefix; the end optional).
    static func contentRange(_ header: String) throws -> (start: Int64, end: Int64?) {
        var text = Substring(header)
        for prefix in ["bytes=", "bytes "] where text.hasPrefix(prefix) { text = text.dropFirst(prefix.count) }
        let invalid = OCIError(status: 416, code: .blobUploadInvalid, message: "invalid Content-Range: \(header)")
        guard let dash = text.firstIndex(of: "-"), let start = Int64(text[..<dash]), start >= 0 else { throw invalid }
        let endText = text[text.index(after: dash)...].prefix { $0 != "/" }
        if endText.isEmpty { return (start, nil) }
        // No upload is anywhere near 2^50 bytes (1 PiB); past that the range is absurd, and its
        // arithmetic could overflow.
        guard let end = Int64(endText), end >= start, end < 1 << 50 else { throw invalid }
        return (start, end)
    }

    static func uploadLocation(_ request: Request, name: String, id: String) -> String {
        let namespace = request.queryValue("ns").map { "?ns=\(Escaping.queryValue($0))" } ?? ""
        return "/v2/\(name)/blobs/uploads/\(id)\(namespace)"
    }

    static func uploadAnswer(_ request: Request, name: String, session: UploadSession, status: HTTPResponseStatus) -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Location", value: uploadLocation(request, name: name, id: session.id))
        headers.add(name: "Docker-Upload-UUID", value: session.id)
        headers.add(name: "Range", value: session.range)
        headers.add(name: "Content-Length", value: "0")
        return Response(status: status, headers: headers)
    }

    static func blobCreated(_ request: Request, name: String, digest: Digest) -> Response {
        var headers = HTTPHeaders()
        headers.add(name: "Location", value: "/v2/\(name)/blobs/\(digest)")
        headers.add(name: "Docker-Content-Digest", value: digest.description)
        headers.add(name: "Content-Length", value: "0")
        return Response(status: .created, headers: headers)
    }
}

extension OCIError {
    /// The answer a client sees for a push that was refused.
    init(_ error: PushError) {
        switch error {
        case .uploadUnknown(let id):
            self = OCIError(status: 404, code: .blobUploadUnknown, message: "upload \(id) is unknown or has expired")
        case .outOfOrder(let range):
            self = OCIError(status: 416, code: .blobUploadInvalid, message: "chunk out of order; received \(range)")
        case .uploadBusy:
            self = OCIError(status: 409, code: .blobUploadInvalid, message: "another request is writing to this upload")
        case .digestMismatch(let expected, let actual):
            self = OCIError(status: 400, code: .digestInvalid, message: "content is \(actual), not \(expected)")
        case .sizeMismatch(let expected, let actual):
            self = OCIError(status: 400, code: .sizeInvalid, message: "content has \(actual) bytes, not \(expected)")
        case .manifestInvalid(let detail):
            self = .manifestInvalid(detail)
        case .manifestTooLarge(let size):
            self = OCIError(status: 413, code: .sizeInvalid, message: "manifest of \(size) bytes exceeds the 4 MiB limit")
        case .blobUnknown(let digest):
            self = .blobUnknown(digest.description)
        case .manifestBlobUnknown(let digests):
            self = OCIError(status: 400, code: .manifestBlobUnknown,
                            message: "manifest references unknown blobs: \(digests.map(\.description).joined(separator: ", "))")
        case .storeFull:
            self = OCIError(status: 507, code: .denied, message: "the store is full of content not yet replicated upstream")
        case .bodyFailed(let detail):
            self = OCIError(status: 400, code: .blobUploadInvalid, message: "upload body failed: \(detail)")
        case .store(let detail):
            self = OCIError(status: 500, code: .unavailable, message: detail)
        case .upstreamRefused(let detail):
            self = OCIError(status: 502, code: .unavailable, message: "upstream did not accept the push (queued for retry): \(detail)")
        case .superseded(let detail):
            self = OCIError(status: 409, code: .denied, message: "not replicated: \(detail)")
        case .tooManyUploads(let limit):
            self = OCIError(status: 429, code: .tooManyRequests, message: "too many uploads in progress (at most \(limit)); finish or cancel some")
        case .tooManyClientUploads(let limit):
            self = OCIError(status: 429, code: .tooManyRequests,
                            message: "too many uploads in progress from this client (at most \(limit)); finish or cancel some")
        case .uploadTooLarge(let limit):
            self = OCIError(status: 413, code: .sizeInvalid, message: "upload exceeds the largest accepted, \(limit) bytes")
        case .rangeInvalid(let range):
            self = OCIError(status: 416, code: .blobUploadInvalid, message: "invalid Content-Range: \(range)")
        case .unsupported(let detail):
            self = .unsupported(detail)
        case .manifestUnknown(let reference):
            self = .manifestUnknown(reference)
        case .upstreamUnavailable(let detail):
            self = OCIError(status: 503, code: .unavailable, message: "upstream unavailable: \(detail)")
        case .deletionRefused(let detail):
            self = OCIError(status: 502, code: .unavailable,
                            message: "deleted here; the upstream did not carry it out (see layover queue): \(detail)")
        }
    }
}
