import Foundation
import LayoverTestSupport
import Testing

/// Uploads that once took the process down or held bytes nowhere accounted for.
@Suite("Upload defects", .endToEnd)
struct UploadDefectTests {

    static func path(_ location: String) -> String {
        guard let range = location.range(of: "/v2/") else { return location }
        return String(location[range.lowerBound...])
    }

    @Test("a PATCH whose Content-Range cannot exist is 416, and the process stays up",
          arguments: ["0-9223372036854775807", "9223372036854775806-9223372036854775807", "0-1125899906842624"])
    func absurdContentRange(_ range: String) async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let location = try await OCIPusher(base: fixture.url("team/app")).startUpload()
        let answer = try await TestHTTP.shared.send(.PATCH, location, headers: [("Content-Range", range)], body: [1, 2, 3])
        #expect(answer.status == 416)
        #expect(answer.text.contains("BLOB_UPLOAD_INVALID"))
        #expect(try await TestHTTP.shared.get("\(fixture.layover.url)/healthz").status == 200)
    }

    @Test("a DELETE while the upload's body is still arriving ends that request with 404; the process stays up",
          arguments: ["PATCH", "PUT"])
    func deleteDuringBody(_ method: String) async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let blob = randomBytes(400_000)
        let location = try await OCIPusher(base: fixture.url("team/app")).startUpload()
        let path = Self.path(location)
        let target = path + (method == "PUT" ? "\(path.contains("?") ? "&" : "?")digest=\(TestHTTP.digest(of: blob))" : "")
        let connection = try RawHTTP(port: fixture.port)
        connection.write("\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: \(blob.count)\r\n\r\n")
        connection.write(Array(blob[0..<100_000]))
        try await Task.sleep(for: .milliseconds(300))
        let deleted = try await TestHTTP.shared.send(.DELETE, location)
        #expect(deleted.status == 204)
        let rest = Array(blob[100_000...])
        let answer = await Task.detached {
            connection.write(rest)
            return connection.readAll()
        }.value
        #expect(RawHTTP.status(of: answer) == 404, "\(answer)")
        #expect(answer.contains("BLOB_UPLOAD_UNKNOWN"))
        #expect(try await TestHTTP.shared.get("\(fixture.layover.url)/healthz").status == 200)
        try await eventually { fixture.ingestFiles().isEmpty }
    }

    @Test("uploads reserve their bytes as they arrive: one over the budget is 507 and frees its file; later pushes work")
    func uploadsCountAgainstTheBudget() async throws {
        let fixture = try await Fixture(layoverArguments: ["--max-bytes", "5MiB"])
        defer { fixture.shutdown() }
        fixture.registry.stop()
        let pusher = OCIPusher(base: fixture.url("team/app"))
        let location = try await pusher.startUpload()
        let big = try await TestHTTP.shared.send(.PATCH, location, body: randomBytes(12 << 20))
        #expect(big.status == 507, "\(big.text)")
        #expect(big.text.contains("not yet replicated"))
        try await eventually { fixture.ingestFiles().isEmpty }
        let status = try await TestHTTP.shared.get("\(fixture.layover.url)/_layover/status")
        #expect(status.text.replacingOccurrences(of: " ", with: "").contains("\"reservedBytes\":0"), "\(status.text)")
        // The budget is free again at once, not after the upload timeout.
        try await pusher.pushBlobMonolithic(randomBytes(1 << 20))
    }

    @Test("a monolithic POST cut off mid-body leaves no ingest file behind")
    func abortedMonolithicPost() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let blob = randomBytes(1_000_000)
        let connection = try RawHTTP(port: fixture.port)
        connection.write("POST /v2/up/team/app/blobs/uploads/?digest=\(TestHTTP.digest(of: blob)) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(blob.count)\r\n\r\n")
        connection.write(Array(blob[0..<100_000]))
        try await eventually { fixture.ingestFiles().count == 1 }
        connection.shutdownWrite()
        _ = await Task.detached { connection.readAll() }.value
        try await eventually { fixture.ingestFiles().isEmpty }
    }

    @Test("upload sessions are capped: past the limit a POST is 429 TOOMANYREQUESTS")
    func sessionCap() async throws {
        let (directory, arguments) = try PushModeTests.config("maxUploadSessions: 4\n")
        defer { directory.remove() }
        let fixture = try await Fixture(layoverArguments: arguments)
        defer { fixture.shutdown() }
        let pusher = OCIPusher(base: fixture.url("team/app"))
        var locations: [String] = []
        for _ in 0..<4 { locations.append(try await pusher.startUpload()) }
        let refused = try await TestHTTP.shared.send(.POST, "\(fixture.url("team/app"))/blobs/uploads/")
        #expect(refused.status == 429)
        #expect(refused.text.contains("TOOMANYREQUESTS"))
        #expect(try await TestHTTP.shared.send(.DELETE, locations[0]).status == 204)
        _ = try await pusher.startUpload()
    }
}
