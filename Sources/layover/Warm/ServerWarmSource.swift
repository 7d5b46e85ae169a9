import AsyncHTTPClient
import LayoverWire
import NIOCore

/// Pulls through a running Layover: it fetches what it lacks, stores it, and the bytes read here
/// are dropped.
struct ServerWarmSource: WarmSource {
    var server: String

    func manifest(_ name: String, _ reference: Reference) async throws -> Manifest {
        var request = HTTPClientRequest(url: "\(server)/v2/\(name)/manifests/\(reference)")
        for type in MediaType.defaultManifestAccept { request.headers.add(name: "Accept", value: type) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
        let body = try await response.body.collect(upTo: Manifest.maximumSize)
        guard response.status == .ok else {
            throw WarmError("\(name):\(reference): Layover answered \(response.status.code) \(String(buffer: body))")
        }
        return try Manifest(bytes: Array(body.readableBytesView), contentType: response.headers.first(name: "content-type"))
    }

    func blob(_ name: String, _ digest: Digest, progress: @Sendable (Int) -> Void) async throws {
        let request = HTTPClientRequest(url: "\(server)/v2/\(name)/blobs/\(digest)")
        let response = try await HTTPClient.shared.execute(request, timeout: .hours(6))
        guard response.status == .ok else {
            let body = try? await response.body.collect(upTo: 1 << 20)
            throw WarmError("\(name)@\(digest): Layover answered \(response.status.code) \(body.map { String(buffer: $0) } ?? "")")
        }
        let expected = response.headers.first(name: "content-length").flatMap(Int64.init)
        var received: Int64 = 0
        for try await chunk in response.body {
            received += Int64(chunk.readableBytes)
            progress(chunk.readableBytes)
        }
        if let expected, received != expected {
            throw WarmError("\(name)@\(digest): body ended after \(received) of \(expected) bytes")
        }
    }
}
