import Testing
@testable import LayoverUpstream

@Suite("Redirect URLs")
struct RedirectURLTests {
    @Test("resolves Location against the request URL as RFC 3986 §5.2 does", arguments: [
        ("https://cdn.example/blob?sig=1", "https://r.example/v2/a/blobs/sha256:x", "https://cdn.example/blob?sig=1"),
        ("/v2/b/blobs/sha256:y", "https://r.example:8443/v2/a/blobs/sha256:x?q=1", "https://r.example:8443/v2/b/blobs/sha256:y"),
        ("other", "https://r.example/v2/a/blobs/sha256:x?q=a/b", "https://r.example/v2/a/blobs/other"),
        // A relative reference whose query holds an absolute URL is still relative.
        ("/storage/x?next=http://elsewhere.example/y", "http://r.example:5000/v2/a/blobs/sha256:x",
         "http://r.example:5000/storage/x?next=http://elsewhere.example/y"),
        ("blob?u=https://e.example", "http://r.example/v2/a/blobs/sha256:x", "http://r.example/v2/a/blobs/blob?u=https://e.example"),
        // A network-path reference names another authority, same scheme.
        ("//cdn.example:9000/p/q?s=1", "https://r.example/v2/a/blobs/sha256:x", "https://cdn.example:9000/p/q?s=1"),
        ("../b/./c", "http://r.example/v2/a/blobs/sha256:x", "http://r.example/v2/a/b/c"),
        ("?s=2", "http://r.example/v2/a/blobs/x?s=1", "http://r.example/v2/a/blobs/x?s=2"),
        // Fragments never go on the wire; an empty reference is the base.
        ("/p#frag", "http://r.example/v2/", "http://r.example/p"),
        ("", "http://r.example/v2/x?q=1", "http://r.example/v2/x?q=1"),
    ])
    func resolve(_ location: String, _ base: String, _ expected: String) {
        #expect(URLResolver.resolve(location, against: base) == expected)
    }

    @Test("a Location that is not an http(s) URL is refused", arguments: ["file:///etc/passwd", "ftp://x.example/y", "http://"])
    func refused(_ location: String) {
        #expect(URLResolver.resolve(location, against: "http://r.example/v2/") == nil)
    }

    @Test("origin is scheme, host and port, normalised", arguments: [
        ("https://r.example/v2/", "https://r.example:443"),
        ("HTTPS://R.Example:443/x", "https://r.example:443"),
        ("https://r.example:8443?x=1", "https://r.example:8443"),
        ("http://localhost:5000", "http://localhost:5000"),
        ("http://127.0.0.1/", "http://127.0.0.1:80"),
    ])
    func origin(_ url: String, _ expected: String) {
        #expect(URLOrigin(url)?.description == expected)
    }

    @Test("no origin for what is not an absolute http(s) URL", arguments: ["not a url", "/v2/", "mailto:a@b.example"])
    func noOrigin(_ url: String) {
        #expect(URLOrigin(url) == nil)
    }
}
