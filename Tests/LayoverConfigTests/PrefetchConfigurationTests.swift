import LayoverUpstream
import Testing
@testable import LayoverConfig

@Suite("Prefetch configuration")
struct PrefetchConfigurationTests {
    @Test("on by default: 8GiB and 4 at a time for every upstream")
    func defaults() {
        #expect(LayoverConfiguration.embeddedDefault.upstreams.values.allSatisfy {
            $0.prefetch == PrefetchPolicy(cacheManifests: true, maxBytes: 8 << 30, concurrency: 4)
        })
    }

    @Test("a prefetch section sets the keys it names and keeps the others")
    func section() throws {
        var configuration = LayoverConfiguration.embeddedDefault
        try configuration.apply(yaml: """
            upstreams:
              ghcr.io:
                url: https://ghcr.io
                prefetch: {maxBytes: 512MiB, concurrency: 2}
              quay.io:
                url: https://quay.io
                prefetch:
                  cacheManifests: false
            """)
        #expect(configuration.upstreams["ghcr.io"]?.prefetch == PrefetchPolicy(cacheManifests: true, maxBytes: 512 << 20, concurrency: 2))
        #expect(configuration.upstreams["quay.io"]?.prefetch.cacheManifests == false)
        try configuration.setUpstream("ghcr.io=https://ghcr.example")
        #expect(configuration.upstreams["ghcr.io"]?.prefetch.maxBytes == 512 << 20, "--upstream keeps the file's prefetch")
    }

    @Test("bad values and unknown keys are refused with their path")
    func refused() {
        for (yaml, path) in [
            ("prefetch: {maxBytes: lots}", "prefetch.maxBytes"),
            ("prefetch: {concurrency: 0}", "prefetch.concurrency"),
            ("prefetch: {maxbytes: 1GiB}", "prefetch.maxbytes"),
        ] {
            var configuration = LayoverConfiguration.embeddedDefault
            #expect { try configuration.apply(yaml: "upstreams:\n  up:\n    url: http://x\n    \(yaml)\n") } throws: {
                "\($0)".contains("upstreams.up.\(path)")
            }
        }
    }

    @Test("the printed configuration reads back to the same policy")
    func printed() throws {
        var configuration = LayoverConfiguration.embeddedDefault
        try configuration.apply(yaml: "upstreams:\n  up:\n    url: http://x\n    prefetch: {cacheManifests: false, maxBytes: 1GiB, concurrency: 8}\n")
        let printed = ConfigurationPrinter.yaml(configuration)
        #expect(printed.contains("prefetch: {cacheManifests: false, maxBytes: 1GiB, concurrency: 8}"))
        var again = LayoverConfiguration.embeddedDefault
        try again.apply(yaml: printed)
        #expect(again.upstreams["up"]?.prefetch == configuration.upstreams["up"]?.prefetch)
    }
}
