import AsyncHTTPClient
import LayoverWire
import NIOCore
import NIOHTTP1

/// What an upstream said about a manifest without sending it.
public struct ManifestHead: Sendable, Equatable {
    public var digest: Digest
    public var mediaType: String
    public var size: Int64

    public init(digest: Digest, mediaType: String, size: Int64) {
        self.digest = digest
        self.mediaType = mediaType
        self.size = size
    }
}

/// A blob body arriving from upstream; consume `body` or drop it to cancel.
public struct BlobDownload: Sendable {
    /// The blob's whole length as the upstream announced it, when it did.
    public var size: Int64?
    /// Where `body` starts in the blob: the offset asked for when the upstream honoured the
    /// `Range`, else 0 (it sent the whole blob).
    public var offset: Int64 = 0
    /// The bytes, with backpressure.
    public var body: HTTPClientResponse.Body

    public init(size: Int64?, offset: Int64 = 0, body: HTTPClientResponse.Body) {
        self.size = size
        self.offset = offset
        self.body = body
    }
}

extension RegistryClient {
    static func pullScope(_ repository: RepositoryName) -> String { "repository:\(repository.value):pull" }

    /// `HEAD manifests/<reference>`: the digest, media type and size, without a pull being counted.
    public func headManifest(_ repository: RepositoryName, _ reference: Reference, accept: [String]) async throws(UpstreamError) -> ManifestHead {
        let response = try await send(Call(method: .HEAD, path: "/v2/\(repository.value)/manifests/\(reference)",
                                           headers: acceptHeaders(accept), scope: Self.pullScope(repository),
                                           deadline: .seconds(30)))
        try await Self.expectPullSuccess(response)
        guard let digestText = response.headers.first(name: "docker-content-digest") else {
            if case .digest(let digest) = reference, let type = response.headers.first(name: "content-type") {
                return ManifestHead(digest: digest, mediaType: MediaType.essence(type), size: Self.contentLength(response) ?? 0)
            }
            throw UpstreamError.protocolViolation("manifest HEAD without Docker-Content-Digest")
        }
        guard let digest = try? Digest(parsing: digestText) else {
            throw UpstreamError.protocolViolation("bad Docker-Content-Digest \(digestText)")
        }
        return ManifestHead(digest: digest, mediaType: response.headers.first(name: "content-type").map(MediaType.essence) ?? MediaType.ociManifest,
                            size: Self.contentLength(response) ?? 0)
    }

    /// `GET manifests/<reference>`, at most `Manifest.maximumSize` bytes, its digest verified against
    /// the digest requested or, for a tag, against the one the upstream announced.
    public func getManifest(_ repository: RepositoryName, _ reference: Reference, accept: [String]) async throws(UpstreamError) -> Manifest {
        let response = try await send(Call(method: .GET, path: "/v2/\(repository.value)/manifests/\(reference)",
                                           headers: acceptHeaders(accept), scope: Self.pullScope(repository)))
        try await Self.expectPullSuccess(response)
        if let length = Self.contentLength(response), length > Manifest.maximumSize {
            await Self.drain(response)
            throw UpstreamError.tooLarge(length)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: Manifest.maximumSize)
        } catch is NIOTooManyBytesError {
            // Sent without a length (chunked): the limit is found while reading.
            throw UpstreamError.tooLarge(Int64(Manifest.maximumSize) + 1)
        } catch {
            throw UpstreamError.unavailable("manifest body: \(error)")
        }
        let manifest: Manifest
        do {
            manifest = try Manifest(bytes: Array(buffer.readableBytesView), contentType: response.headers.first(name: "content-type"))
        } catch {
            throw UpstreamError.protocolViolation("upstream manifest rejected: \(error)")
        }
        let announced = response.headers.first(name: "docker-content-digest").flatMap { try? Digest(parsing: $0) }
        let expected: Digest? = if case .digest(let digest) = reference { digest } else { announced }
        if let expected, !manifest.matches(expected) {
            throw UpstreamError.protocolViolation("manifest digest mismatch: expected \(expected), got \(manifest.digest)")
        }
        return manifest
    }

    /// `HEAD blobs/<digest>` for `repository`: its size when the upstream holds it.
    public func headBlob(_ repository: RepositoryName, _ digest: Digest) async throws(UpstreamError) -> Int64? {
        let response = try await send(Call(method: .HEAD, path: "/v2/\(repository.value)/blobs/\(digest)",
                                           scope: Self.pullScope(repository), deadline: .seconds(30)))
        try await Self.expectPullSuccess(response)
        return Self.contentLength(response)
    }

    /// `GET blobs/<digest>`; the body streams as it arrives. Redirects to blob storage are followed.
    /// From `offset` on (`Range: bytes=offset-`) to resume a download that broke; an upstream
    /// that ignores the range sends the whole blob (`offset` 0 in the answer).
    public func getBlob(_ repository: RepositoryName, _ digest: Digest, from offset: Int64 = 0) async throws(UpstreamError) -> BlobDownload {
        let response = try await send(Call(method: .GET, path: "/v2/\(repository.value)/blobs/\(digest)",
                                           headers: offset > 0 ? [("Range", "bytes=\(offset)-")] : [],
                                           scope: Self.pullScope(repository), deadline: .hours(6)))
        try await Self.expectPullSuccess(response)
        if offset > 0, response.status.code == 206 {
            guard let range = ContentRange(response.headers.first(name: "content-range") ?? ""), range.start == offset else {
                await Self.drain(response)
                throw .protocolViolation("upstream answered a range other than bytes=\(offset)-")
            }
            return BlobDownload(size: range.total, offset: offset, body: response.body)
        }
        return BlobDownload(size: Self.contentLength(response), body: response.body)
    }

    /// The client's `Accept` list as separate header lines; when it is empty or has a wildcard,
    /// the manifest types Layover knows are added, since registries match types, not wildcards.
    private func acceptHeaders(_ accept: [String]) -> [(String, String)] {
        let wildcard = accept.isEmpty || accept.contains { $0.hasPrefix("*/*") || $0.hasPrefix("application/*") }
        let list = wildcard ? MediaType.defaultManifestAccept + accept.filter { !MediaType.defaultManifestAccept.contains($0) } : accept
        return list.map { ("Accept", $0) }
    }

    static func contentLength(_ response: HTTPClientResponse) -> Int64? {
        response.headers.first(name: "content-length").flatMap { Int64($0) }
    }

    static func expectSuccess(_ response: HTTPClientResponse) async throws(UpstreamError) {
        if (200..<300).contains(response.status.code) { return }
        await drain(response)
        switch response.status.code {
        case 404:
            throw .notFound
        case 401, 403:
            throw .unauthorized("upstream answered \(response.status.code)")
        default:
            throw .protocolViolation("upstream answered \(response.status.code)")
        }
    }
}

extension RegistryClient {
    /// `GET referrers/<digest>`: the upstream's OCI index of referrers; nil when the upstream
    /// does not implement the referrers API (404).
    public func referrers(_ repository: RepositoryName, _ digest: Digest) async throws(UpstreamError) -> [UInt8]? {
        let response = try await send(Call(method: .GET, path: "/v2/\(repository.value)/referrers/\(digest)",
                                           headers: [("Accept", MediaType.ociIndex)], scope: Self.pullScope(repository)))
        if response.status == .notFound || response.status == .methodNotAllowed {
            await Self.drain(response)
            return nil
        }
        try await Self.expectPullSuccess(response)
        do {
            return Array(try await response.body.collect(upTo: Manifest.maximumSize).readableBytesView)
        } catch {
            throw .unavailable("referrers body: \(error)")
        }
    }
}
