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
        let response = try await send(Call(
            method: .PUT, path: "\(target)\(separator)digest=\(digest)",
            headers: [("Content-Type", "application/octet-stream")], scope: scope, deadline: .hours(6),
            body: { .stream(FileChunks(path: path), length: .known(size)) }))
        await Self.drain(response)
        guard response.status == .created || response.status == .noContent || response.status == .ok else {
            try await Self.expectSuccess(response)
            throw UpstreamError.protocolViolation("blob upload answered \(response.status.code)")
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
