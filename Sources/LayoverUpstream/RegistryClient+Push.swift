import AsyncHTTPClient
import Foundation
import LayoverWire
import NIOCore
import NIOHTTP1

extension RegistryClient {
    static func pushScope(_ repository: RepositoryName) -> String { "repository:\(repository.value):pull,push" }

    /// How long a push upload may make no progress before it fails.
    var stallTimeout: TimeAmount { .milliseconds(Int64(upstream.stallTimeoutSeconds * 1000)) }

    /// `HEAD blobs/<digest>` with the push scope (so one token serves the whole push).
    public func blobExists(_ repository: RepositoryName, _ digest: Digest) async throws(UpstreamError) -> Bool {
        let response = try await send(Call(method: .HEAD, path: "/v2/\(repository.value)/blobs/\(digest)",
                                           scope: Self.pushScope(repository), deadline: .seconds(30)))
        if response.status == .notFound {
            await Self.drain(response)
            return false
        }
        try await Self.expectSuccess(response)
        return true
    }

    /// `HEAD manifests/<digest>` with the push scope.
    public func manifestExists(_ repository: RepositoryName, _ digest: Digest, mediaType: String) async throws(UpstreamError) -> Bool {
        let response = try await send(Call(method: .HEAD, path: "/v2/\(repository.value)/manifests/\(digest)",
                                           headers: [("Accept", mediaType)], scope: Self.pushScope(repository), deadline: .seconds(30)))
        if response.status == .notFound {
            await Self.drain(response)
            return false
        }
        try await Self.expectSuccess(response)
        return true
    }

    /// Cross-repository mount: true when the upstream mounted the blob (201). When it opened an
    /// upload instead (202), that upload is cancelled and false returned. A refusal throws; the
    /// caller may still upload the blob.
    public func mountBlob(_ repository: RepositoryName, _ digest: Digest, from source: RepositoryName) async throws(UpstreamError) -> Bool {
        let scope = Self.pushScope(repository) + " repository:\(source.value):pull"
        let response = try await send(Call(method: .POST, path: "/v2/\(repository.value)/blobs/uploads/?mount=\(digest)&from=\(source.value)",
                                           scope: scope, deadline: .seconds(60)))
        let detail = await Self.errorDetail(response)
        switch response.status.code {
        case 201:
            return true
        case 202:
            if let location = response.headers.first(name: "location"),
               let cancel = try? await send(Call(method: .DELETE, path: uploadPath(location), scope: scope, deadline: .seconds(30))) {
                await Self.drain(cancel)
            }
            return false
        case 404, 405:
            return false
        default:
            throw Self.pushRefusal("mount", response, detail: detail)
        }
    }

    /// The bytes `offset..<offset + length` of a file as the body of one request (a monolithic
    /// `PUT` or one chunk's `PATCH`), one 64 KiB piece in flight at a time: each write is awaited
    /// until it reached the socket, so a slow upstream link costs time, never memory. A link on
    /// which no piece is accepted for `stallTimeout` fails the request (transient), however long
    /// the whole upload may take (the wait for the answer after the last byte is not a stall).
    /// `progress` is told the bytes of this request sent so far.
    func streamFile(_ method: HTTPMethod, to url: String, path: String, offset: Int64, length: Int64,
                    headers extra: [(String, String)], authorization: String?,
                    progress: (@Sendable (Int64) -> Void)?) async throws(UpstreamError) -> HTTPClient.Response {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/octet-stream")
        for (name, value) in extra { headers.add(name: name, value: value) }
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        let eventLoop = http.eventLoopGroup.next()
        let watchdog = StallWatchdog(timeout: stallTimeout, eventLoop: eventLoop)
        let body = HTTPClient.Body.stream(contentLength: length) { writer in
            let done = eventLoop.makePromise(of: Void.self)
            done.completeWithTask {
                var sent: Int64 = 0
                for try await chunk in FileChunks(path: path, offset: offset, length: length) {
                    try await writer.write(.byteBuffer(chunk)).get()
                    sent += Int64(chunk.readableBytes)
                    watchdog.progressed()
                    progress?(sent)
                }
                // The body is out: the upstream now verifies it, which may take a while; the
                // client's read timeout governs the wait for its answer.
                watchdog.stop()
            }
            return done.futureResult
        }
        do {
            let request = try HTTPClient.Request(url: url, method: method, headers: headers, body: body)
            let task = http.execute(request: request, delegate: ResponseAccumulator(request: request),
                                    deadline: .now() + .hours(6), logger: logger)
            watchdog.start { task.cancel() }
            defer { watchdog.stop() }
            return try await task.futureResult.get()
        } catch {
            if watchdog.fired {
                throw .unavailable("blob upload stalled: no bytes accepted for \(Int(stallTimeout.nanoseconds / 1_000_000_000)) s")
            }
            throw .unavailable("blob upload failed: \(error)")
        }
    }

    /// An upload `Location` as a URL, with `?digest=` added for the closing `PUT` when given.
    func uploadURL(_ location: String, digest: Digest? = nil) -> String {
        let target = uploadPath(location)
        let absolute = target.hasPrefix("http://") || target.hasPrefix("https://") ? target : upstream.url + target
        guard let digest else { return absolute }
        return absolute + (absolute.contains("?") ? "&" : "?") + "digest=\(digest)"
    }

    /// `PUT manifests/<reference>` with the manifest's bytes and media type.
    public func putManifest(_ repository: RepositoryName, reference: String, bytes: [UInt8], mediaType: String) async throws(UpstreamError) {
        let response = try await send(Call(
            method: .PUT, path: "/v2/\(repository.value)/manifests/\(reference)",
            headers: [("Content-Type", mediaType)], scope: Self.pushScope(repository), deadline: .seconds(120),
            body: { .bytes(ByteBuffer(bytes: bytes)) }))
        if (200..<300).contains(response.status.code) {
            await Self.drain(response)
            return
        }
        let answer = await Self.errorAnswer(response)
        if response.status.code == 400, answer.codes.contains(where: Self.blobUnknownCodes.contains) {
            // The blobs were checked or sent just before: an upstream that does not see one now
            // is caught mid-write (distribution rewrites a repository's link files in place, and
            // an upload of the same blob elsewhere can be doing so) or not yet consistent. The
            // job's next attempt checks every blob again and sends what is missing.
            throw .unavailable("manifest push answered 400: \(answer.detail) (a blob it names was just there; tried again)")
        }
        throw Self.pushRefusal("manifest push", response, detail: answer.detail)
    }

    /// The codes with which a registry refuses a manifest for a blob it does not see.
    static let blobUnknownCodes: Set<String> = [OCIErrorCode.manifestBlobUnknown.rawValue, OCIErrorCode.blobUnknown.rawValue]

    /// An upload `Location` as a path (or absolute URL) `send` accepts.
    func uploadPath(_ location: String) -> String {
        if location.hasPrefix(upstream.url) { return String(location.dropFirst(upstream.url.count)) }
        return location
    }
}

extension RegistryClient {
    /// Reads an answer's body once (at most 64 KiB, the rest dropped) and returns it as printable
    /// text for an error message; empty for a success or a body-less answer. The body must not be
    /// read again afterwards.
    static func errorDetail(_ response: HTTPClientResponse) async -> String {
        await errorAnswer(response).detail
    }

    /// As `errorDetail`, with the OCI error codes of the body (`{"errors":[{"code":…}]}`), if any.
    static func errorAnswer(_ response: HTTPClientResponse) async -> (detail: String, codes: [String]) {
        guard let buffer = try? await response.body.collect(upTo: 64 * 1024),
              !(200..<300).contains(response.status.code) else { return ("", []) }
        let text = String(buffer: buffer)
        return (printable(text), errorCodes(text))
    }

    /// The `code` of each entry of an OCI error body; empty when `text` is not one.
    static func errorCodes(_ text: String) -> [String] {
        struct Body: Decodable {
            struct Entry: Decodable { var code: String? }
            var errors: [Entry]
        }
        return (try? JSONDecoder().decode(Body.self, from: Data(text.utf8)))?.errors.compactMap(\.code) ?? []
    }

    /// `text` on one line, control characters replaced, at most 300 characters.
    static func printable(_ text: String) -> String {
        let line = String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }

    static func pushRefusal(_ operation: String, _ response: HTTPClientResponse, detail: String) -> UpstreamError {
        pushRefusal(operation, status: Int(response.status.code), retryAfter: response.headers.first(name: "retry-after"), detail: detail)
    }

    /// What a push step's failure status means for the job: `408`, `429` and `5xx` pass (retry,
    /// honouring `Retry-After`); `401` after authenticating, `403`, `404`, `405`, `413` and other
    /// `4xx` are refusals that no retry fixes.
    static func pushRefusal(_ operation: String, status: Int, retryAfter: String?, detail: String) -> UpstreamError {
        let reason = "\(operation) answered \(status)" + (detail.isEmpty ? "" : ": \(detail)")
        switch status {
        case 408, 425, 500...599:
            return .unavailable(reason)
        case 429:
            return .rateLimited(retryAfter: retryAfter.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.map { max(0, $0) })
        case 400..<500:
            return .refused(status: status, detail: reason)
        default:
            return .protocolViolation(reason)
        }
    }
}
