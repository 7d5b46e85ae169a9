import Testing
@testable import LayoverUpstream

@Suite("UpstreamConfiguration")
struct UpstreamConfigurationTests {
    @Test func defaultsToAnonymousAlwaysRevalidated() {
        let upstream = UpstreamConfiguration(name: "ghcr.io", url: "https://ghcr.io")
        #expect(upstream.name == "ghcr.io")
        #expect(upstream.url == "https://ghcr.io")
        #expect(upstream.credentials == nil)
        #expect(upstream.tagFreshnessSeconds == 0)
    }

    @Test func dropsATrailingSlash() {
        #expect(UpstreamConfiguration(name: "a", url: "https://ghcr.io/").url == "https://ghcr.io")
        #expect(UpstreamConfiguration(name: "a", url: "https://example.com/mirror/").url == "https://example.com/mirror")
    }

    @Test("host is the authority of the URL", arguments: [
        ("https://registry-1.docker.io", "registry-1.docker.io"),
        ("https://ghcr.io/", "ghcr.io"),
        ("http://localhost:5000", "localhost:5000"),
        ("https://example.com/v2/mirror", "example.com"),
        ("http://10.0.0.1:8080/path/", "10.0.0.1:8080"),
        ("registry.example:5000/path", "registry.example:5000"),
    ])
    func host(_ url: String, _ host: String) {
        #expect(UpstreamConfiguration(name: "x", url: url).host == host)
    }

    @Test("recognises Docker Hub by name or host", arguments: [
        ("docker.io", "https://registry-1.docker.io", true),
        ("docker.io", "http://localhost:5000", true),
        ("hub", "https://registry-1.docker.io", true),
        ("hub", "https://index.docker.io/", true),
        ("ghcr.io", "https://ghcr.io", false),
        ("mirror", "https://mirror.gcr.io", false),
        ("docker", "https://docker.example", false),
    ])
    func isDockerHub(_ name: String, _ url: String, _ expected: Bool) {
        #expect(UpstreamConfiguration(name: name, url: url).isDockerHub == expected)
    }

    @Test func equalityCoversEveryField() {
        let base = UpstreamConfiguration(name: "a", url: "https://a.example",
                                         credentials: .init(username: "u", password: "p"), tagFreshnessSeconds: 5)
        #expect(base == UpstreamConfiguration(name: "a", url: "https://a.example/",
                                              credentials: .init(username: "u", password: "p"), tagFreshnessSeconds: 5))
        var other = base
        other.credentials?.password = "q"
        #expect(base != other)
        other = base
        other.tagFreshnessSeconds = 6
        #expect(base != other)
    }
}
