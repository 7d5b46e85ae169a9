import LayoverUpstream
import Testing
@testable import LayoverConfig

@Suite("LayoverConfiguration")
struct LayoverConfigurationTests {
    let defaults = LayoverConfiguration.embeddedDefault

    // MARK: Embedded default

    @Test func embeddedDefaultValues() throws {
        #expect(defaults.listenHost == "127.0.0.1")
        #expect(defaults.listenPort == 5000)
        #expect(defaults.storage == "./layover-data")
        #expect(defaults.maxBytes == 21_474_836_480)
        #expect(defaults.defaultUpstream == "docker.io")
        #expect(defaults.uploadTimeoutSeconds == 900)
        #expect(defaults.pushModes.isEmpty)
        #expect(defaults.upstreams == [
            "docker.io": UpstreamConfiguration(name: "docker.io", url: "https://registry-1.docker.io"),
            "ghcr.io": UpstreamConfiguration(name: "ghcr.io", url: "https://ghcr.io"),
            "quay.io": UpstreamConfiguration(name: "quay.io", url: "https://quay.io"),
            "registry.k8s.io": UpstreamConfiguration(name: "registry.k8s.io", url: "https://registry.k8s.io"),
            "gcr.io": UpstreamConfiguration(name: "gcr.io", url: "https://gcr.io"),
        ])
        #expect(defaults.upstreams.values.allSatisfy { $0.credentials == nil && $0.tagFreshnessSeconds == 0 })
        #expect(try defaults.validated() == defaults)
    }

    // MARK: YAML

    @Test func yamlOverridesTheDefault() throws {
        var configuration = defaults
        try configuration.apply(yaml: """
            listen: 0.0.0.0:5001
            storage: /var/lib/layover
            maxBytes: 512MiB
            defaultUpstream: ghcr.io
            uploadTimeoutSeconds: 60
            upstreams:
              ghcr.io:
                url: https://ghcr.example/
                username: bot
                password: s3cret
                tagFreshnessSeconds: 30
                push: sync
              internal:
                url: http://registry.internal:5000
                push: local
            """)
        #expect(configuration.listenHost == "0.0.0.0")
        #expect(configuration.listenPort == 5001)
        #expect(configuration.storage == "/var/lib/layover")
        #expect(configuration.maxBytes == 536_870_912)
        #expect(configuration.defaultUpstream == "ghcr.io")
        #expect(configuration.uploadTimeoutSeconds == 60)
        #expect(configuration.upstreams["ghcr.io"] == UpstreamConfiguration(
            name: "ghcr.io", url: "https://ghcr.example", credentials: .init(username: "bot", password: "s3cret"),
            tagFreshnessSeconds: 30))
        #expect(configuration.upstreams["internal"] == UpstreamConfiguration(name: "internal", url: "http://registry.internal:5000"))
        #expect(configuration.upstreams["docker.io"] == defaults.upstreams["docker.io"])
        #expect(configuration.upstreams.count == 6)
        #expect(configuration.pushModes == ["ghcr.io": "sync", "internal": "local"])
        #expect(try configuration.validated() == configuration)
    }

    @Test func uploadChunkSizePerUpstream() throws {
        var configuration = defaults
        #expect(configuration.upstreams["ghcr.io"]?.uploadChunkBytes == 64 << 20)
        try configuration.apply(yaml: "upstreams:\n  ghcr.io:\n    url: https://ghcr.io\n    uploadChunkSize: 16MiB\n")
        #expect(configuration.upstreams["ghcr.io"]?.uploadChunkBytes == 16 << 20)
        #expect(ConfigurationPrinter.yaml(configuration).contains("uploadChunkSize: \(16 << 20)"))
        // --upstream after the file keeps what the file set for that upstream.
        try configuration.addUpstream(name: "ghcr.io", url: "https://mirror.example")
        #expect(configuration.upstreams["ghcr.io"]?.uploadChunkBytes == 16 << 20)
        for bad in ["100KiB", "lots"] {
            var refused = defaults
            #expect(throws: ConfigurationError.self) {
                try refused.apply(yaml: "upstreams:\n  ghcr.io:\n    url: https://ghcr.io\n    uploadChunkSize: \(bad)\n")
            }
        }
    }

    @Test func indexSynchronousIsFullUnlessTheFileSaysNormal() throws {
        var configuration = defaults
        #expect(configuration.indexSynchronous == "full")
        try configuration.apply(yaml: "indexSynchronous: normal\n")
        #expect(configuration.indexSynchronous == "normal")
        #expect(ConfigurationPrinter.yaml(configuration).contains("indexSynchronous: normal"))
        configuration.indexSynchronous = "off"
        #expect(throws: ConfigurationError("indexSynchronous: expected full or normal, got off")) { try configuration.validated() }
    }

    @Test func operationalKeysFromYAMLAndEnvironment() throws {
        var configuration = defaults
        #expect(configuration.accessLog && configuration.logFormat == "text" && configuration.shutdownGraceSeconds == 30)
        try configuration.apply(yaml: "accessLog: false\nlogFormat: json\nshutdownGraceSeconds: 5\n")
        #expect(!configuration.accessLog && configuration.logFormat == "json" && configuration.shutdownGraceSeconds == 5)
        try configuration.apply(environment: ["LAYOVER_ACCESS_LOG": "on", "LAYOVER_LOG_FORMAT": "text",
                                              "LAYOVER_SHUTDOWN_GRACE_SECONDS": "12.5"])
        #expect(configuration.accessLog && configuration.logFormat == "text" && configuration.shutdownGraceSeconds == 12.5)
        #expect(throws: ConfigurationError("LAYOVER_ACCESS_LOG: expected true or false, got maybe")) {
            try configuration.apply(environment: ["LAYOVER_ACCESS_LOG": "maybe"])
        }
        configuration.logFormat = "xml"
        #expect(throws: ConfigurationError("logFormat: expected text or json, got xml")) { try configuration.validated() }
    }

    @Test func scrubRateFromYAMLAndEnvironment() throws {
        var configuration = defaults
        #expect(configuration.scrubBytesPerSecond == 0, "no background scrub by default")
        #expect(!ConfigurationPrinter.yaml(configuration).contains("scrubBytesPerSecond"))
        try configuration.apply(yaml: "scrubBytesPerSecond: 50MiB\n")
        #expect(configuration.scrubBytesPerSecond == 50 << 20)
        #expect(ConfigurationPrinter.yaml(configuration).contains("scrubBytesPerSecond: 50MiB"))
        try configuration.apply(yaml: "scrubBytesPerSecond: 1000000\n")
        #expect(configuration.scrubBytesPerSecond == 1_000_000)
        try configuration.apply(environment: ["LAYOVER_SCRUB_BYTES_PER_SECOND": "0"])
        #expect(configuration.scrubBytesPerSecond == 0)
        #expect(throws: ConfigurationError(
            "scrubBytesPerSecond: expected bytes per second (a number or a size such as 50MiB), got fast")) {
            try configuration.apply(yaml: "scrubBytesPerSecond: fast\n")
        }
        #expect(throws: ConfigurationError(
            "LAYOVER_SCRUB_BYTES_PER_SECOND: expected bytes per second (a number or a size such as 50MiB), got -5")) {
            try configuration.apply(environment: ["LAYOVER_SCRUB_BYTES_PER_SECOND": "-5"])
        }
    }

    @Test func yamlKeysLeftOutKeepTheirValues() throws {
        var configuration = defaults
        try configuration.apply(yaml: "storage: /data\n")
        var expected = defaults
        expected.storage = "/data"
        #expect(configuration == expected)
    }

    @Test("an empty or comment-only file changes nothing", arguments: ["", "\n", "# nothing configured yet\n"])
    func emptyYAML(_ yaml: String) throws {
        var configuration = defaults
        try configuration.apply(yaml: yaml)
        #expect(configuration == defaults)
    }

    @Test func aPlainNumberOfBytesIsAcceptedInYAML() throws {
        var configuration = defaults
        try configuration.apply(yaml: "maxBytes: 1048576\n")
        #expect(configuration.maxBytes == 1_048_576)
    }

    @Test func aYAMLUpstreamWithoutCredentialsKeepsThoseItHad() throws {
        var configuration = defaults
        try configuration.apply(yaml: """
            upstreams:
              quay.io:
                url: https://quay.io
                username: robot
                password: token
                tagFreshnessSeconds: 5
            """)
        try configuration.apply(yaml: """
            upstreams:
              quay.io:
                url: https://quay.mirror.example
            """)
        #expect(configuration.upstreams["quay.io"]?.url == "https://quay.mirror.example")
        #expect(configuration.upstreams["quay.io"]?.credentials == .init(username: "robot", password: "token"))
        #expect(configuration.upstreams["quay.io"]?.tagFreshnessSeconds == 5)
    }

    @Test func aUsernameWithoutPasswordIsNotACredential() throws {
        var configuration = defaults
        try configuration.apply(yaml: """
            upstreams:
              ghcr.io:
                url: https://ghcr.io
                username: bot
            """)
        #expect(configuration.upstreams["ghcr.io"]?.credentials == nil)
    }

    @Test("bad YAML values are refused with the key named", arguments: [
        ("maxBytes: lots", "maxBytes: cannot parse lots"),
        ("listen: nowhere", "listen: expected HOST:PORT, got nowhere"),
        ("upstreams:\n  x:\n    url: ftp://x.example", "upstream x: URL must start with https:// or http://, got ftp://x.example"),
        ("upstreams:\n  a/b:\n    url: https://x.example", "upstream: bad name a/b"),
    ])
    func badYAMLValues(_ yaml: String, _ message: String) {
        var configuration = defaults
        #expect(throws: ConfigurationError(message)) { try configuration.apply(yaml: yaml) }
    }

    @Test("YAML that does not fit the schema is refused", arguments: [
        "listen: [1, 2]",
        "upstreams:\n  x:\n    username: bot",
        "uploadTimeoutSeconds: soon",
        "key: [unclosed",
    ])
    func malformedYAML(_ yaml: String) {
        var configuration = defaults
        let error = #expect(throws: ConfigurationError.self) { try configuration.apply(yaml: yaml) }
        #expect(error?.description.hasPrefix("config file: ") == true)
        #expect(configuration == defaults)
    }

    // MARK: Environment

    @Test func environmentOverridesTheDefault() throws {
        var configuration = defaults
        try configuration.apply(environment: [
            "LAYOVER_LISTEN": "[::1]:8080",
            "LAYOVER_STORAGE": "/srv/layover",
            "LAYOVER_MAX_BYTES": "1GiB",
            "LAYOVER_DEFAULT_UPSTREAM": "quay.io",
            "LAYOVER_UPSTREAM_GHCR_IO_USERNAME": "octocat",
            "LAYOVER_UPSTREAM_GHCR_IO_PASSWORD": "ghp_secret",
            "LAYOVER_UPSTREAM_REGISTRY_K8S_IO_USERNAME": "k8s",
            "LAYOVER_UPSTREAM_REGISTRY_K8S_IO_PASSWORD": "pw",
            "HOME": "/root",
        ])
        #expect(configuration.listenHost == "::1")
        #expect(configuration.listenPort == 8080)
        #expect(configuration.storage == "/srv/layover")
        #expect(configuration.maxBytes == 1_073_741_824)
        #expect(configuration.defaultUpstream == "quay.io")
        #expect(configuration.upstreams["ghcr.io"]?.credentials == .init(username: "octocat", password: "ghp_secret"))
        #expect(configuration.upstreams["registry.k8s.io"]?.credentials == .init(username: "k8s", password: "pw"))
        #expect(configuration.upstreams["docker.io"]?.credentials == nil)
        #expect(configuration.upstreams["ghcr.io"]?.url == "https://ghcr.io")
    }

    @Test func credentialsNeedBothUsernameAndPassword() throws {
        var configuration = defaults
        try configuration.apply(environment: ["LAYOVER_UPSTREAM_GHCR_IO_USERNAME": "octocat",
                                              "LAYOVER_UPSTREAM_QUAY_IO_PASSWORD": "alone"])
        #expect(configuration == defaults)
    }

    @Test func environmentCredentialsReachUpstreamsAddedByYAML() throws {
        var configuration = defaults
        try configuration.apply(yaml: "upstreams:\n  my-mirror.local:\n    url: http://mirror.local:5000\n")
        try configuration.apply(environment: ["LAYOVER_UPSTREAM_MY_MIRROR_LOCAL_USERNAME": "u",
                                              "LAYOVER_UPSTREAM_MY_MIRROR_LOCAL_PASSWORD": "p"])
        #expect(configuration.upstreams["my-mirror.local"]?.credentials == .init(username: "u", password: "p"))
    }

    @Test func unrelatedEnvironmentChangesNothing() throws {
        var configuration = defaults
        try configuration.apply(environment: ["PATH": "/usr/bin", "LAYOVER_UNKNOWN": "x", "layover_storage": "/lower"])
        #expect(configuration == defaults)
    }

    @Test func badEnvironmentValuesAreRefused() {
        var configuration = defaults
        #expect(throws: ConfigurationError("LAYOVER_MAX_BYTES: cannot parse lots")) {
            try configuration.apply(environment: ["LAYOVER_MAX_BYTES": "lots"])
        }
        #expect(throws: ConfigurationError("listen: expected HOST:PORT, got 5000")) {
            try configuration.apply(environment: ["LAYOVER_LISTEN": "5000"])
        }
    }

    @Test("upstream names become environment names", arguments: [
        ("ghcr.io", "GHCR_IO"), ("registry.k8s.io", "REGISTRY_K8S_IO"), ("docker.io", "DOCKER_IO"),
        ("my-mirror", "MY_MIRROR"), ("local:5000", "LOCAL_5000"),
    ])
    func environmentNames(_ upstream: String, _ name: String) {
        #expect(LayoverConfiguration.environmentName(upstream) == name)
    }

    // MARK: setListen

    @Test("parses listen addresses", arguments: [
        ("0.0.0.0:80", "0.0.0.0", 80),
        (":5000", "0.0.0.0", 5000),
        ("[::1]:8080", "::1", 8080),
        ("[::]:443", "::", 443),
        ("localhost:0", "localhost", 0),
        ("example.com:65535", "example.com", 65535),
    ])
    func setListen(_ text: String, _ host: String, _ port: Int) throws {
        var configuration = defaults
        try configuration.setListen(text)
        #expect(configuration.listenHost == host)
        #expect(configuration.listenPort == port)
    }

    @Test("refuses listen addresses without a valid port", arguments: [
        "localhost", "localhost:", "localhost:http", "localhost:65536", "localhost:-1", "", "[::1]",
    ])
    func setListenErrors(_ text: String) {
        var configuration = defaults
        #expect(throws: ConfigurationError("listen: expected HOST:PORT, got \(text)")) { try configuration.setListen(text) }
        #expect(configuration.listenHost == "127.0.0.1")
        #expect(configuration.listenPort == 5000)
    }

    // MARK: setUpstream

    @Test func setUpstreamAddsAnUpstream() throws {
        var configuration = defaults
        try configuration.setUpstream("internal=http://registry.internal:5000/")
        #expect(configuration.upstreams["internal"] == UpstreamConfiguration(name: "internal", url: "http://registry.internal:5000"))
        #expect(configuration.upstreams.count == 6)
    }

    @Test func setUpstreamReplacesTheURLAndKeepsCredentials() throws {
        var configuration = defaults
        try configuration.apply(environment: ["LAYOVER_UPSTREAM_GHCR_IO_USERNAME": "u", "LAYOVER_UPSTREAM_GHCR_IO_PASSWORD": "p"])
        configuration.upstreams["ghcr.io"]?.tagFreshnessSeconds = 12
        try configuration.setUpstream("ghcr.io=https://ghcr.mirror.example")
        #expect(configuration.upstreams["ghcr.io"] == UpstreamConfiguration(
            name: "ghcr.io", url: "https://ghcr.mirror.example", credentials: .init(username: "u", password: "p"),
            tagFreshnessSeconds: 12))
    }

    @Test func setUpstreamSplitsAtTheFirstEqualsSign() throws {
        var configuration = defaults
        try configuration.setUpstream("q=https://q.example/path?a=b")
        #expect(configuration.upstreams["q"]?.url == "https://q.example/path?a=b")
    }

    @Test("setUpstream refuses malformed values", arguments: [
        ("ghcr.io", "upstream: expected NAME=URL, got ghcr.io"),
        ("=https://x.example", "upstream: bad name "),
        ("a/b=https://x.example", "upstream: bad name a/b"),
        ("x=ftp://x.example", "upstream x: URL must start with https:// or http://, got ftp://x.example"),
        ("x=", "upstream x: URL must start with https:// or http://, got "),
        ("x=x.example", "upstream x: URL must start with https:// or http://, got x.example"),
    ])
    func setUpstreamErrors(_ text: String, _ message: String) {
        var configuration = defaults
        #expect(throws: ConfigurationError(message)) { try configuration.setUpstream(text) }
        #expect(configuration == defaults)
    }

    // MARK: validated()

    @Test func validatedRefusesAnUnknownDefaultUpstream() {
        var configuration = defaults
        configuration.defaultUpstream = "nowhere.example"
        #expect(throws: ConfigurationError("defaultUpstream: nowhere.example is not a configured upstream")) {
            try configuration.validated()
        }
        configuration.defaultUpstream = nil
        #expect(throws: Never.self) { try configuration.validated() }
    }

    @Test func validatedRefusesAnEmptyBudget() {
        var configuration = defaults
        configuration.maxBytes = 0
        #expect(throws: ConfigurationError("maxBytes: must be above zero")) { try configuration.validated() }
        configuration.maxBytes = -1
        #expect(throws: ConfigurationError("maxBytes: must be above zero")) { try configuration.validated() }
    }

    @Test func validatedChecksPushModes() {
        var configuration = defaults
        configuration.pushModes = ["ghcr.io": "sync", "quay.io": "async", "docker.io": "local"]
        #expect(throws: Never.self) { try configuration.validated() }
        configuration.pushModes["gcr.io"] = "later"
        #expect(throws: ConfigurationError("upstreams.gcr.io.push: expected async, sync or local, got later")) {
            try configuration.validated()
        }
    }

    @Test func validatedRefusesANonPositiveUploadTimeout() {
        var configuration = defaults
        configuration.uploadTimeoutSeconds = 0
        #expect(throws: ConfigurationError("uploadTimeoutSeconds: must be above zero")) { try configuration.validated() }
    }

    @Test("eventLoops: one per core unless set in the file, the environment or the flag; 1 to 256")
    func eventLoops() throws {
        var configuration = LayoverConfiguration.embeddedDefault
        #expect(configuration.eventLoops == nil)
        #expect(!ConfigurationPrinter.yaml(configuration).contains("eventLoops"))
        try configuration.apply(yaml: "eventLoops: 1\n")
        #expect(configuration.eventLoops == 1)
        #expect(ConfigurationPrinter.yaml(configuration).contains("eventLoops: 1"))
        try configuration.apply(environment: ["LAYOVER_EVENT_LOOPS": "4"])
        #expect(configuration.eventLoops == 4)
        #expect(throws: ConfigurationError.self) { try configuration.apply(environment: ["LAYOVER_EVENT_LOOPS": "two"]) }
        configuration.eventLoops = 0
        #expect(throws: ConfigurationError.self) { try configuration.validated() }
        configuration.eventLoops = 256
        #expect(try configuration.validated().eventLoops == 256)
    }
}
