import Foundation

/// Pushes to a registry (or to Layover) the way each real client does, over real HTTP.
public struct OCIPusher: Sendable {
    /// `http://host:port/v2/<name>` without a trailing slash.
    public let base: String
    let origin: String

    public init(base: String) {
        self.base = base
        origin = String(base[..<base.range(of: "/v2/")!.lowerBound])
    }

    /// containerd/BuildKit style: `POST`, then one `PUT ?digest=` with the whole body.
    @discardableResult
    public func pushBlobMonolithic(_ bytes: [UInt8]) async throws -> String {
        let digest = TestHTTP.digest(of: bytes)
        let location = try await startUpload()
        let done = try await TestHTTP.shared.send(.PUT, "\(location)\(location.contains("?") ? "&" : "?")digest=\(digest)",
                                                  headers: [("Content-Type", "application/octet-stream")], body: bytes)
        guard done.status == 201 else { throw TestFailure("PUT blob answered \(done.status): \(done.text)") }
        return digest
    }

    /// skopeo/crane style: `POST`, one or more `PATCH`es (with `Content-Range` when `ranges`), `PUT ?digest=` without a body.
    @discardableResult
    public func pushBlobChunked(_ bytes: [UInt8], chunkSize: Int, ranges: Bool = true) async throws -> String {
        let digest = TestHTTP.digest(of: bytes)
        var location = try await startUpload()
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunkSize)
            var headers = [("Content-Type", "application/octet-stream")]
            if ranges { headers.append(("Content-Range", "\(offset)-\(end - 1)")) }
            let answer = try await TestHTTP.shared.send(.PATCH, location, headers: headers, body: Array(bytes[offset..<end]))
            guard answer.status == 202, let next = answer.header("location") else {
                throw TestFailure("PATCH answered \(answer.status): \(answer.text)")
            }
            location = absolute(next)
            offset = end
        }
        let done = try await TestHTTP.shared.send(.PUT, "\(location)\(location.contains("?") ? "&" : "?")digest=\(digest)")
        guard done.status == 201 else { throw TestFailure("PUT answered \(done.status): \(done.text)") }
        return digest
    }

    /// `POST /blobs/uploads/`; returns the absolute upload URL.
    public func startUpload() async throws -> String {
        let start = try await TestHTTP.shared.send(.POST, "\(base)/blobs/uploads/")
        guard start.status == 202, let location = start.header("location") else {
            throw TestFailure("POST uploads answered \(start.status): \(start.text)")
        }
        return absolute(location)
    }

    /// `PUT manifests/<reference>`; returns the answer.
    public func putManifest(_ reference: String, _ bytes: [UInt8], mediaType: String) async throws -> TestHTTP.Answer {
        try await TestHTTP.shared.send(.PUT, "\(base)/manifests/\(reference)", headers: [("Content-Type", mediaType)], body: bytes)
    }

    public func absolute(_ location: String) -> String {
        location.hasPrefix("/") ? origin + location : location
    }
}
