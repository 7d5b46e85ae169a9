import AsyncHTTPClient
import LayoverWire
import NIOCore
import NIOHTTP1

extension RegistryClient {
    static func pushScope(_ repository: RepositoryName) -> String { "repository:\(repository.value):pull,push" }

    /// `HEAD blobs/<digest>` with the push scope (so one token serves the whole push).
    public func blobExists(_ repository: RepositoryName, _ digest: Digest) async throws(UpstreamError) -> Bool {
        let response = try await send(Call(method: .HEAD, path: "/v2/\(repository.value)/blobs/\(digest)",
                                           scope: Self.pushScope(repository), deadline: .seconds(30)))
        if response.status == .notFound { return false }
        try await Self.expectSuccess(response)
        return true
    }

    /// `HEAD manifests/<digest>` with the push scope.
    public func manifestExists(_ repository: RepositoryName, _ digest: Digest, mediaType: String) async throws(UpstreamError) -> Bool {
        let response = try await send(Call(method: .HEAD, path: "/v2/\(repository.value)/manifests/\(digest)",
                                           headers: [("Accept", mediaType)], scope: Self.pushScope(repository), deadline: .seconds(30)))
        if response.status == .notFound { return false }
        try await Self.expectSuccess(response)
        return true
    }

    /// Cross-repository mount: true when the upstream mounted the blob (201). When it opened an
    /// upload instead (202), that upload is cancelled and false returned.
    public func mountBlob(_ repository: RepositoryName, _ digest: Digest, from source: RepositoryName) async throws(UpstreamError) -> Bool {
        let scope = Self.pushScope(repository) + " repository:\(source.value):pull"
        let response = try await send(Call(method: .POST, path: "/v2/\(repository.value)/blobs/uploads/?mount=\(digest)&from=\(source.value)",
                                           scope: scope, deadline: .seconds(60)))
        await Self.drain(response)
        if response.status == .created { return true }
        if response.status == .accepted, let location = response.headers.first(name: "location") {
            _ = try? await send(Call(method: .DELETE, path: uploadPath(location), scope: scope, deadline: .seconds(30)))
            return false
        }
        if response.status.code == 404 || response.status.code == 405 { return false }
        try await Self.expectSuccess(response)
        return false
    }

    /// Uploads a blob from a local file: `POST`, then a monolithic `PUT ?digest=` streaming the file.
    public func uploadBlob(_ repository: RepositoryName, _ digest: Digest, size: Int64, path: String) async throws(UpstreamError) {
        let scope = Self.pushScope(repository)
        let start = try await send(Call(method: .POST, path: "/v2/\(repository.value)/blobs/uploads/", scope: scope, deadline: .seconds(60)))
        await Self.drain(start)
        guard start.status == .accepted, let location = start.headers.first(name: "location") else {
            try await Self.expectSuccess(start)
            throw UpstreamError.protocolViolation("upload start answered \(start.status.code) without Location")
        }
        let target = uploadPath(location)
        let separator = target.contains("?") ? "&" : "?"
        let url = (target.hasPrefix("http://") || target.hasPrefix("https://") ? target : upstream.url + target) + "\(separator)digest=\(digest)"
        try await streamUpload(to: url, size: size, path: path, authorization: tokens.token(for: authorizationKey(scope: scope)))
    }

    /// The monolithic `PUT` of a file, one 64 KiB chunk in flight at a time: each write is awaited
    /// until it reached the socket, so a slow upstream link costs time, never memory.
    private func streamUpload(to url: String, size: Int64, path: String, authorization: String?) async throws(UpstreamError) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/octet-stream")
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        let eventLoop = http.eventLoopGroup.next()
        let body = HTTPClient.Body.stream(contentLength: size) { writer in
            let done = eventLoop.makePromise(of: Void.self)
            done.completeWithTask {
                for try await chunk in FileChunks(path: path) {
                    try await writer.write(.byteBuffer(chunk)).get()
                }
            }
            return done.futureResult
        }
        let response: HTTPClient.Response
        do {
            let request = try HTTPClient.Request(url: url, method: .PUT, headers: headers, body: body)
            response = try await http.execute(request: request, deadline: .now() + .hours(6), logger: logger).get()
        } catch {
            throw .unavailable("blob upload failed: \(error)")
        }
        switch response.status.code {
        case 200, 201, 204: return
        // A token that expired mid-push: the job retries and fetches a new one.
        case 401: throw .unavailable("blob upload answered 401 (token expired?)")
        case 403: throw .unauthorized("blob upload refused (403)")
        case 400..<500: throw .protocolViolation("blob upload answered \(response.status.code)")
        default: throw .unavailable("blob upload answered \(response.status.code)")
        }
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
        let detail = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
        switch response.status.code {
        case 401, 403: throw .unauthorized("manifest push refused (\(response.status.code)): \(detail)")
        case 400..<500: throw .protocolViolation("manifest push refused (\(response.status.code)): \(detail)")
        default: throw .unavailable("manifest push answered \(response.status.code)")
        }
    }

    /// An upload `Location` as a path (or absolute URL) `send` accepts.
    func uploadPath(_ location: String) -> String {
        if location.hasPrefix(upstream.url) { return String(location.dropFirst(upstream.url.count)) }
        return location
    }
}
