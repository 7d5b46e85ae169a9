import Testing
@testable import LayoverConfig

@Suite("ConfigurationPrinter")
struct ConfigurationPrinterTests {
    @Test func printsTheEmbeddedDefault() {
        #expect(ConfigurationPrinter.yaml(.embeddedDefault) == """
            listen: 127.0.0.1:5000
            storage: ./layover-data
            maxBytes: 20GiB
            defaultUpstream: docker.io
            uploadTimeoutSeconds: 900.0
            maxUploadSessions: 1024
            maxUploadSessionsPerClient: 256
            accessLog: true
            logFormat: text
            shutdownGraceSeconds: 30.0
            upstreamIdleTimeoutSeconds: 30.0
            upstreams:
              docker.io:
                url: https://registry-1.docker.io
                prefetch: {cacheManifests: true, maxBytes: 8GiB, concurrency: 4}
                push: async
              gcr.io:
                url: https://gcr.io
                prefetch: {cacheManifests: true, maxBytes: 8GiB, concurrency: 4}
                push: async
              ghcr.io:
                url: https://ghcr.io
                prefetch: {cacheManifests: true, maxBytes: 8GiB, concurrency: 4}
                push: async
              quay.io:
                url: https://quay.io
                prefetch: {cacheManifests: true, maxBytes: 8GiB, concurrency: 4}
                push: async
              registry.k8s.io:
                url: https://registry.k8s.io
                prefetch: {cacheManifests: true, maxBytes: 8GiB, concurrency: 4}
                push: async
            limits:
              headerTimeoutSeconds: 10.0
              idleTimeoutSeconds: 120.0
              maxHeaderBytes: 65536
              maxConcurrentStreams: 100
            """)
    }

    @Test func masksPasswordsAndShowsFreshnessAndPushModes() throws {
        var configuration = LayoverConfiguration.embeddedDefault
        configuration.upstreams = [:]
        configuration.defaultUpstream = nil
        try configuration.apply(yaml: """
            upstreams:
              ghcr.io:
                url: https://ghcr.io
                username: bot
                password: s3cret
                tagFreshnessSeconds: 30
                push: sync
            """)
        let printed = ConfigurationPrinter.yaml(configuration)
        #expect(!printed.contains("s3cret"))
        #expect(printed.contains("""
            upstreams:
              ghcr.io:
                url: https://ghcr.io
                username: bot
                password: '********'
                tagFreshnessSeconds: 30.0
                prefetch: {cacheManifests: true, maxBytes: 8GiB, concurrency: 4}
                push: sync
            """))
        #expect(!printed.contains("defaultUpstream"))
    }
}
