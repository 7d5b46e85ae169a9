import Foundation
import LayoverTestSupport
import Testing

/// A manifest over the 4 MiB limit is refused with the limit named, however it is framed.
@Suite("Oversized manifests", .endToEnd)
struct OversizedManifestTests {
    @Test("a chunked manifest PUT over 4 MiB is 413 naming the limit, on a connection that still answers")
    func chunkedPutTooLarge() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let socket = try BlockingSocket(port: fixture.port)
        defer { socket.close() }
        try socket.send("PUT /v2/up/team/app/manifests/big HTTP/1.1\r\nHost: t\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = String(repeating: " ", count: 1 << 20)
        for _ in 0..<5 { try socket.send(String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n") }
        try socket.send("0\r\n\r\n")
        let answer = socket.receive(until: "}]}", timeout: .seconds(10))
        #expect(answer.hasPrefix("HTTP/1.1 413"), "got: \(answer.prefix(300))")
        #expect(answer.contains("4 MiB"), "got: \(answer.prefix(300))")
    }
}
