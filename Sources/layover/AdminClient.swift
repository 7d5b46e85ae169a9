import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Reads one of a running Layover's admin endpoints.
enum AdminClient {
    /// The body of `GET server + path` (or another method) when the answer is a success (`2xx`);
    /// a clear error when the server is unreachable or refuses.
    static func get(_ path: String, from server: String, method: HTTPMethod = .GET) async throws -> Data {
        let http = HTTPClient.shared
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            var request = HTTPClientRequest(url: server + path)
            request.method = method
            response = try await http.execute(request, timeout: .seconds(10))
            body = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw ValidationError("cannot reach Layover at \(server): \(error)")
        }
        guard (200..<300).contains(response.status.code) else {
            throw ValidationError("\(server) answered \(response.status.code): \(String(buffer: body))")
        }
        return Data(body.readableBytesView)
    }
}
