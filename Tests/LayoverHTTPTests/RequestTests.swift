import NIOHTTP1
import Testing
@testable import LayoverHTTP

@Suite("Request")
struct RequestTests {
    static func request(_ uri: String, method: HTTPMethod = .GET, version: HTTPVersion = .http1_1,
                        headers: HTTPHeaders = HTTPHeaders()) -> Request {
        Request(head: HTTPRequestHead(version: version, method: method, uri: uri, headers: headers))
    }

    static func pairs(_ request: Request) -> [String] { request.query.map { "\($0.name)=\($0.value)" } }

    @Test func splitsThePathFromTheQuery() {
        let request = Self.request("/v2/library/alpine/tags/list?n=10&last=3.19&ns=docker.io")
        #expect(request.method == .GET)
        #expect(request.uri == "/v2/library/alpine/tags/list?n=10&last=3.19&ns=docker.io")
        #expect(request.path == "/v2/library/alpine/tags/list")
        #expect(request.rawQuery == "n=10&last=3.19&ns=docker.io")
        #expect(Self.pairs(request) == ["n=10", "last=3.19", "ns=docker.io"])
        #expect(request.queryValue("n") == "10")
        #expect(request.queryValue("ns") == "docker.io")
        #expect(request.queryValue("missing") == nil)
    }

    @Test("a target in absolute form is taken by its path and query (RFC 9112 §3.2.2)", arguments: [
        ("http://layover.example:5000/v2/a/manifests/v1?ns=docker.io", "/v2/a/manifests/v1", "ns=docker.io"),
        ("HTTPS://layover.example/v2/", "/v2/", nil),
        ("http://layover.example", "/", nil),
        ("http://layover.example?ns=x", "/", "ns=x"),
    ] as [(String, String, String?)])
    func absoluteForm(_ target: String, _ path: String, _ query: String?) {
        let request = Self.request(target)
        #expect(request.path == path)
        #expect(request.rawQuery == query)
        #expect(request.uri == path + (query.map { "?" + $0 } ?? ""))
    }

    @Test func aPathWithoutQuery() {
        let request = Self.request("/v2/")
        #expect(request.path == "/v2/")
        #expect(request.rawQuery == nil)
        #expect(request.query.isEmpty)
    }

    @Test func anEmptyQuery() {
        let request = Self.request("/v2/?")
        #expect(request.path == "/v2/")
        #expect(request.rawQuery == "")
        #expect(request.query.isEmpty)
    }

    @Test func onlyTheFirstQuestionMarkSplits() {
        let request = Self.request("/v2/a/blobs/uploads/u1?digest=sha256:x?y")
        #expect(request.path == "/v2/a/blobs/uploads/u1")
        #expect(request.queryValue("digest") == "sha256:x?y")
    }

    @Test func repeatedNamesKeepTheirOrderAndTheFirstWins() {
        let request = Self.request("/v2/x?mount=a&from=r&mount=b")
        #expect(Self.pairs(request) == ["mount=a", "from=r", "mount=b"])
        #expect(request.queryValue("mount") == "a")
    }

    @Test("parses unusual pairs", arguments: [
        ("a=1&&b=2", ["a=1", "b=2"]),
        ("flag", ["flag="]),
        ("flag&x=1", ["flag=", "x=1"]),
        ("k=v=w", ["k=v=w"]),
        ("=x", ["=x"]),
        ("a=", ["a="]),
        ("&", [String]()),
    ])
    func unusualPairs(_ query: String, _ expected: [String]) {
        #expect(Request.parseQuery(query).map { "\($0.name)=\($0.value)" } == expected)
    }

    @Test func queryValuesArePercentDecodedAndPlusIsASpace() {
        let request = Self.request("/v2/x?last=a%2Bb&q=a+b+c&path=a%2Fb&%6E%73=ghcr.io&sp=%20")
        #expect(request.queryValue("last") == "a+b")
        #expect(request.queryValue("q") == "a b c")
        #expect(request.queryValue("path") == "a/b")
        #expect(request.queryValue("ns") == "ghcr.io")
        #expect(request.queryValue("sp") == " ")
    }

    @Test func thePathIsPercentDecodedButPlusIsKept() {
        #expect(Self.request("/v2/library%2Falpine/manifests/v1").path == "/v2/library/alpine/manifests/v1")
        #expect(Self.request("/v2/a/manifests/sha256%3Aabc").path == "/v2/a/manifests/sha256:abc")
        #expect(Self.request("/v2/a+b/tags/list").path == "/v2/a+b/tags/list")
        #expect(Self.request("/v2/%7Euser/tags/list").path == "/v2/~user/tags/list")
    }

    @Test("percent decoding", arguments: [
        ("plain", "plain"),
        ("%41%42%43", "ABC"),
        ("%c3%a9t%C3%A9", "été"),
        ("100%25", "100%"),
        ("100%", "100%"),
        ("%", "%"),
    ])
    func percentDecoding(_ text: String, _ decoded: String) {
        #expect(Request.percentDecoded(text) == decoded)
    }

    @Test("malformed escapes are kept as they are", arguments: [
        ("%zz", "%zz"),
        ("a%4", "a%4"),
        ("%g1x", "%g1x"),
        ("%+1", "%+1"),
        ("%-0", "%-0"),
    ])
    func malformedEscapes(_ text: String, _ decoded: String) {
        #expect(Request.percentDecoded(text) == decoded)
    }

    @Test func keepAliveFollowsTheVersionAndConnectionHeader() {
        #expect(Self.request("/v2/").keepAlive)
        #expect(!Self.request("/v2/", headers: ["Connection": "close"]).keepAlive)
        #expect(!Self.request("/v2/", version: .http1_0).keepAlive)
        #expect(Self.request("/v2/", version: .http1_0, headers: ["Connection": "keep-alive"]).keepAlive)
    }

    @Test func keepsMethodAndHeaders() {
        let request = Self.request("/v2/a/manifests/v1", method: .HEAD,
                                   headers: ["Accept": "application/vnd.oci.image.index.v1+json", "Host": "localhost"])
        #expect(request.method == .HEAD)
        #expect(request.headers["accept"] == ["application/vnd.oci.image.index.v1+json"])
        #expect(request.headers.first(name: "host") == "localhost")
    }
}
