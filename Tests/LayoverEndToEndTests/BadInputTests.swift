import Foundation
import LayoverTestSupport
import Testing

/// Bad input gets the OCI error JSON with the right status and code.
@Suite("Bad input", .endToEnd)
struct BadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var path: String
        var headers: [(String, String)] = []
        var status: Int
        var code: String
        var testDescription: String { "\(path) → \(status) \(code)" }
    }

    static let cases: [Case] = [
        Case(path: "/v2/up/Team/App/manifests/v1", status: 400, code: "NAME_INVALID"),
        Case(path: "/v2/up/team//app/manifests/v1", status: 400, code: "NAME_INVALID"),
        Case(path: "/v2/up/team/app/blobs/sha256:totallywrong", status: 400, code: "DIGEST_INVALID"),
        Case(path: "/v2/up/team/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", status: 400, code: "DIGEST_INVALID"),
        // A reference that can name nothing is not found (as registries answer a probe), not malformed.
        Case(path: "/v2/up/team/app/manifests/sha256:totallywrong", status: 404, code: "MANIFEST_UNKNOWN"),
        Case(path: "/v2/up/team/app/manifests/-notatag", status: 404, code: "MANIFEST_UNKNOWN"),
        Case(path: "/v2/evil.example.com/team/app/manifests/v1", status: 404, code: "NAME_UNKNOWN"),
        Case(path: "/v2/team/app/manifests/v1?ns=evil.example.com", status: 404, code: "NAME_UNKNOWN"),
        Case(path: "/v2/team/app/manifests/v1?ns=evil.example.com/x", status: 400, code: "NAME_INVALID"),
        Case(path: "/v2/?ns=a%0d%0aSet-Cookie:%20x=1", status: 400, code: "NAME_INVALID"),
        Case(path: "/v2/up/team/app/manifests/missing", status: 404, code: "MANIFEST_UNKNOWN"),
        Case(path: "/v2/up/team/app/blobs/sha256:\(String(repeating: "0", count: 64))", status: 404, code: "BLOB_UNKNOWN"),
        Case(path: "/v2/up/team/app/blobs/sha256:\(String(repeating: "0", count: 64))", headers: [("Range", "bytes=oops")], status: 404, code: "BLOB_UNKNOWN"),
    ]

    @Test("malformed or unknown requests get OCI errors", arguments: cases)
    func ociErrors(_ testCase: Case) async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [10])
        let answer = try await TestHTTP.shared.get(fixture.layover.url + testCase.path, headers: testCase.headers)
        #expect(answer.status == testCase.status)
        #expect(answer.text.contains("\"code\":\"\(testCase.code)\""), "\(answer.text)")
        #expect(answer.header("content-type") == "application/json")
        #expect(answer.header("docker-distribution-api-version") == "registry/2.0")
    }

    @Test("Range answers: 206 spans, suffixes, open ends and 416 beyond the end, cold and warm")
    func ranges() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let blob = randomBytes(100_000)
        let digest = try await fixture.seeder.pushBlob("team/app", blob)
        let url = "\(fixture.url("team/app"))/blobs/\(digest)"

        let cold = try await TestHTTP.shared.get(url, headers: [("Range", "bytes=1000-1999")])
        #expect(cold.status == 206)
        #expect(cold.body == Array(blob[1000...1999]))
        #expect(cold.header("content-range") == "bytes 1000-1999/100000")
        try await eventually { fixture.storedBlobs().contains(digest) }

        let warm = try await TestHTTP.shared.get(url, headers: [("Range", "bytes=1000-1999")])
        #expect(warm.status == 206)
        #expect(warm.body == Array(blob[1000...1999]))
        let suffix = try await TestHTTP.shared.get(url, headers: [("Range", "bytes=-10")])
        #expect(suffix.body == Array(blob[99_990...]))
        #expect(suffix.header("content-range") == "bytes 99990-99999/100000")
        let open = try await TestHTTP.shared.get(url, headers: [("Range", "bytes=99000-")])
        #expect(open.body == Array(blob[99_000...]))
        let beyond = try await TestHTTP.shared.get(url, headers: [("Range", "bytes=100000-")])
        #expect(beyond.status == 416)
        #expect(beyond.header("content-range") == "bytes */100000")
        let whole = try await TestHTTP.shared.get(url)
        #expect(whole.status == 200)
        #expect(whole.body == blob)
        let malformed = try await TestHTTP.shared.get(url, headers: [("Range", "bytes=abc")])
        #expect(malformed.status == 416)
        #expect(malformed.text.contains("RANGE_INVALID"))
    }

    @Test("Range is for GET only; If-Range that is not the ETag gets the whole blob")
    func rangeRules() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let blob = randomBytes(10_000)
        let digest = try await fixture.seeder.pushBlob("team/app", blob)
        let url = "\(fixture.url("team/app"))/blobs/\(digest)"
        _ = try await TestHTTP.shared.get(url)
        try await eventually { fixture.storedBlobs().contains(digest) }

        let head = try await TestHTTP.shared.head(url, headers: [("Range", "bytes=abc")])
        #expect(head.status == 200, "Range is ignored on HEAD")
        #expect(head.header("content-length") == "10000")
        let stale = try await TestHTTP.shared.get(url, headers: [("Range", "bytes=0-9"), ("If-Range", "\"sha256:other\"")])
        #expect(stale.status == 200, "a validator that does not match gets the whole representation")
        #expect(stale.body.count == blob.count && stale.body == blob)
        let dated = try await TestHTTP.shared.get(url, headers: [("Range", "bytes=0-9"), ("If-Range", "Wed, 21 Oct 2015 07:28:00 GMT")])
        #expect(dated.status == 200)
        let matching = try await TestHTTP.shared.get(url, headers: [("Range", "bytes=0-9"), ("If-Range", "\"\(digest)\"")])
        #expect(matching.status == 206)
        #expect(matching.body == Array(blob[0...9]))
    }

    @Test("an ns with a line break is refused, never echoed into a header")
    func namespaceNotEchoed() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let answer = try await TestHTTP.shared.get("\(fixture.layover.url)/v2/?ns=a%0d%0aSet-Cookie:%20x=1")
        #expect(answer.status == 400)
        #expect(answer.header("set-cookie") == nil)
        #expect(answer.header("oci-namespace") == nil)
        let good = try await TestHTTP.shared.get("\(fixture.layover.url)/v2/?ns=up")
        #expect(good.header("oci-namespace") == "up")
    }

    @Test("a decoded line break in the path cannot forge an access-log line")
    func accessLogNotForged() async throws {
        let fixture = try await Fixture(layoverEnvironment: ["LAYOVER_LOG_LEVEL": "info"])
        defer { fixture.shutdown() }
        let answer = try await TestHTTP.shared.get("\(fixture.layover.url)/v2/up/team/app%0aforged=1%20level=critical/manifests/v1")
        #expect(answer.status == 400)
        try await eventually { fixture.layover.log.contains("forged") }
        let lines = fixture.layover.log.split(separator: "\n")
        #expect(!lines.contains { $0.hasPrefix("forged") }, "\(fixture.layover.log)")
        #expect(fixture.layover.log.contains("app%0Aforged=1%20level=critical"))
    }

    @Test("HTTP rules: Host exactly once, absolute-form targets, Allow on 405, HEAD on tags/list")
    func httpRules() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [10])
        func status(_ text: String) async throws -> String {
            String(try await RawClient.exchange(port: fixture.port, text).dropFirst("HTTP/1.1 ".count).prefix(3))
        }
        #expect(try await status("GET /v2/ HTTP/1.1\r\nConnection: close\r\n\r\n") == "400", "no Host")
        #expect(try await status("GET /v2/ HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n") == "400", "two Hosts")
        #expect(try await status("GET /v2/ HTTP/1.0\r\n\r\n") == "200", "HTTP/1.0 needs no Host")
        #expect(try await status("GET http://layover.example/v2/up/team/app/manifests/v1 HTTP/1.1\r\nHost: layover.example\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\nConnection: close\r\n\r\n") == "200", "absolute-form")

        let refused = try await TestHTTP.shared.send(.POST, "\(fixture.layover.url)/v2/")
        #expect(refused.status == 405)
        #expect(refused.header("allow") == "GET, HEAD")
        let manifestPost = try await TestHTTP.shared.send(.POST, "\(fixture.url("team/app"))/manifests/v1")
        #expect(manifestPost.status == 405)
        #expect(manifestPost.header("allow") == "GET, HEAD, PUT")

        let tags = try await TestHTTP.shared.head("\(fixture.url("team/app"))/tags/list")
        #expect(tags.status == 200)
        #expect(tags.header("content-type") == "application/json")
    }

    @Test("pipelined requests on one connection are answered in order")
    func pipelining() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let port = fixture.port
        let request = "GET /v2/ HTTP/1.1\r\nHost: t\r\n\r\nGET /v2/up/team/app/blobs/sha256:bad HTTP/1.1\r\nHost: t\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        let text = try await RawClient.exchange(port: port, request)
        let statuses = text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
        #expect(statuses == ["200", "400", "200"])
    }

    @Test("a pipelined upload behind another request is read whole and stored: its body follows its head")
    func pipelinedUpload() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let blob = "pipelined blob bytes"
        let digest = TestHTTP.digest(of: Array(blob.utf8))
        let request = "GET /v2/ HTTP/1.1\r\nHost: t\r\n\r\n"
            + "POST /v2/up/team/app/blobs/uploads/?digest=\(digest) HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
            + "Content-Length: \(blob.utf8.count)\r\n\r\n\(blob)"
            + "GET /v2/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        let started = ContinuousClock.now
        let text = try await RawClient.exchange(port: fixture.port, request)
        let statuses = text.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
        #expect(statuses == ["200", "201", "200"], "after \(ContinuousClock.now - started): \(text.prefix(600))")
        let stored = try await TestHTTP.shared.get("\(fixture.url("team/app"))/blobs/\(digest)")
        #expect(stored.status == 200 && stored.text == blob)
    }
}
