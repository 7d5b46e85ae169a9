import LayoverStore
import LayoverUpstream
import LayoverWire
import Testing
@testable import LayoverPull

/// One HTTP client for every `RegistryClient` these tests make; resolving names never sends a
/// request, and the client lives as long as the test process.
private let sharedHTTPClient = RegistryClient.makeHTTPClient()

private func client(_ name: String, _ url: String) -> RegistryClient {
    RegistryClient(upstream: UpstreamConfiguration(name: name, url: url), http: sharedHTTPClient)
}

@Suite("UpstreamDirectory")
struct UpstreamDirectoryTests {
    let directory = UpstreamDirectory(clients: [
        client("docker.io", "https://registry-1.docker.io"),
        client("ghcr.io", "https://ghcr.io"),
        client("quay.io", "https://quay.io"),
        client("mirror", "http://localhost:5000"),
    ], defaultUpstream: "docker.io")

    func resolve(_ name: String, ns: String? = nil) throws(UpstreamDirectory.ResolutionError) -> (upstream: String, repository: String) {
        let (client, key) = try directory.resolve(name: name, namespace: ns)
        #expect(client.upstream.name == key.upstream)
        return (key.upstream, key.repository.value)
    }

    @Test func listsItsUpstreams() {
        #expect(directory.defaultUpstream == "docker.io")
        #expect(directory.all.map(\.upstream.name).sorted() == ["docker.io", "ghcr.io", "mirror", "quay.io"])
        #expect(directory.client(named: "ghcr.io")?.upstream.url == "https://ghcr.io")
        #expect(directory.client(named: "gcr.io") == nil)
    }

    @Test func theFirstOfTwoUpstreamsWithOneNameIsKept() {
        let directory = UpstreamDirectory(clients: [client("a", "https://one.example"), client("a", "https://two.example")],
                                          defaultUpstream: nil)
        #expect(directory.all.count == 1)
        #expect(directory.client(named: "a")?.upstream.url == "https://one.example")
    }

    @Test("a first component naming an upstream selects it", arguments: [
        ("ghcr.io/owner/app", "ghcr.io", "owner/app"),
        ("quay.io/prometheus/node-exporter", "quay.io", "prometheus/node-exporter"),
        ("ghcr.io/alpine", "ghcr.io", "alpine"),
        ("mirror/team/tool", "mirror", "team/tool"),
        ("docker.io/bitnami/redis", "docker.io", "bitnami/redis"),
    ])
    func prefixRouting(_ name: String, _ upstream: String, _ repository: String) throws {
        let resolved = try resolve(name)
        #expect(resolved.upstream == upstream)
        #expect(resolved.repository == repository)
    }

    @Test("Docker Hub's one-component names get library/", arguments: [
        ("docker.io/alpine", "library/alpine"),
        ("alpine", "library/alpine"),
        ("library/alpine", "library/alpine"),
        ("myorg/app", "myorg/app"),
        ("myorg/team/app", "myorg/team/app"),
    ])
    func dockerHubLibrary(_ name: String, _ repository: String) throws {
        let resolved = try resolve(name)
        #expect(resolved.upstream == "docker.io")
        #expect(resolved.repository == repository)
    }

    @Test("ns= names the upstream by name or by host", arguments: [
        ("owner/app", "ghcr.io", "ghcr.io", "owner/app"),
        ("alpine", "docker.io", "docker.io", "library/alpine"),
        ("alpine", "registry-1.docker.io", "docker.io", "library/alpine"),
        ("team/tool", "localhost:5000", "mirror", "team/tool"),
        ("team/tool", "mirror", "mirror", "team/tool"),
        ("ghcr.io/owner/app", "quay.io", "quay.io", "ghcr.io/owner/app"),
    ])
    func namespaceRouting(_ name: String, _ namespace: String, _ upstream: String, _ repository: String) throws {
        let resolved = try resolve(name, ns: namespace)
        #expect(resolved.upstream == upstream)
        #expect(resolved.repository == repository)
    }

    @Test func nsDockerIoFindsDockerHubConfiguredUnderAnotherName() throws {
        let directory = UpstreamDirectory(clients: [client("hub", "https://index.docker.io"), client("ghcr.io", "https://ghcr.io")],
                                          defaultUpstream: nil)
        let (client, key) = try directory.resolve(name: "nginx", namespace: "docker.io")
        #expect(client.upstream.name == "hub")
        #expect(key == RepositoryKey(upstream: "hub", repository: try RepositoryName("library/nginx")))
    }

    @Test func anEmptyNsIsIgnored() throws {
        let resolved = try resolve("ghcr.io/owner/app", ns: "")
        #expect(resolved.upstream == "ghcr.io")
        #expect(resolved.repository == "owner/app")
    }

    @Test("an unknown ns is refused", arguments: ["example.com", "gcr.io", "ghcr.io:443"])
    func unknownNamespace(_ namespace: String) {
        #expect(throws: UpstreamDirectory.ResolutionError.unknownUpstream(namespace)) {
            try directory.resolve(name: "owner/app", namespace: namespace)
        }
    }

    @Test("an unconfigured host-like prefix is refused, never relayed", arguments: [
        ("example.com/owner/app", "example.com"),
        ("gcr.io/project/image", "gcr.io"),
        ("localhost/app", "localhost"),
        ("localhost:5000/app", "localhost:5000"),
        ("10.0.0.1:5000/app", "10.0.0.1:5000"),
        ("evil.example", "evil.example"),
    ])
    func unknownHostPrefix(_ name: String, _ refused: String) {
        #expect(throws: UpstreamDirectory.ResolutionError.unknownUpstream(refused)) {
            try directory.resolve(name: name, namespace: nil)
        }
    }

    @Test func namesWithoutPrefixNeedADefaultUpstream() throws {
        let noDefault = UpstreamDirectory(clients: [client("ghcr.io", "https://ghcr.io")], defaultUpstream: nil)
        #expect(noDefault.defaultUpstream == nil)
        #expect(throws: UpstreamDirectory.ResolutionError.unknownUpstream("(no default upstream)")) {
            try noDefault.resolve(name: "owner/app", namespace: nil)
        }
        let missingDefault = UpstreamDirectory(clients: [client("ghcr.io", "https://ghcr.io")], defaultUpstream: "docker.io")
        #expect(throws: UpstreamDirectory.ResolutionError.unknownUpstream("(no default upstream)")) {
            try missingDefault.resolve(name: "alpine", namespace: nil)
        }
        #expect(try noDefault.resolve(name: "ghcr.io/owner/app", namespace: nil).1.repository.value == "owner/app")
    }

    @Test func theDefaultUpstreamNeedNotBeDockerHub() throws {
        let directory = UpstreamDirectory(clients: [client("ghcr.io", "https://ghcr.io")], defaultUpstream: "ghcr.io")
        let (client, key) = try directory.resolve(name: "alpine", namespace: nil)
        #expect(client.upstream.name == "ghcr.io")
        #expect(key.repository.value == "alpine")
    }

    @Test("names that break the grammar are refused", arguments: [
        ("Alpine", nil, "library/Alpine"),
        ("ghcr.io/Owner/App", nil, "Owner/App"),
        ("ghcr.io/", nil, ""),
        ("owner//app", nil, "owner//app"),
        ("", nil, "library/"),
        ("a b", "ghcr.io", "a b"),
        ("owner/app/", "quay.io", "owner/app/"),
    ] as [(String, String?, String)])
    func invalidNames(_ name: String, _ namespace: String?, _ reported: String) {
        #expect(throws: UpstreamDirectory.ResolutionError.invalidName(reported)) {
            try directory.resolve(name: name, namespace: namespace)
        }
    }
}
