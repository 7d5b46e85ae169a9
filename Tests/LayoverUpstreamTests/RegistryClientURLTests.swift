import Testing
@testable import LayoverUpstream

@Suite("Redirect URLs")
struct RedirectURLTests {
    @Test("resolves Location against the request URL", arguments: [
        ("https://cdn.example/blob?sig=1", "https://r.example/v2/a/blobs/sha256:x", "https://cdn.example/blob?sig=1"),
        ("/v2/b/blobs/sha256:y", "https://r.example:8443/v2/a/blobs/sha256:x?q=1", "https://r.example:8443/v2/b/blobs/sha256:y"),
        ("other", "https://r.example/v2/a/blobs/sha256:x?q=a/b", "https://r.example/v2/a/blobs/other"),
    ])
    func resolve(_ location: String, _ base: String, _ expected: String) {
        #expect(RegistryClient.resolve(location, against: base) == expected)
    }

    @Test("origin is scheme and authority", arguments: [
        ("https://r.example/v2/", "https://r.example"),
        ("https://r.example:8443?x=1", "https://r.example:8443"),
        ("http://localhost:5000", "http://localhost:5000"),
        ("not a url", "not a url"),
    ])
    func origin(_ url: String, _ expected: String) {
        #expect(RegistryClient.origin(of: url) == expected)
    }
}
