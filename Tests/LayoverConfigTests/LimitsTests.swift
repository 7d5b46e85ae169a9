import Testing
@testable import LayoverConfig

@Suite("limits and tls sections")
struct LimitsTests {
    let defaults = LayoverConfiguration.embeddedDefault

    @Test func defaultValues() {
        #expect(defaults.limits == Limits())
        #expect(defaults.limits.headerTimeoutSeconds == 10)
        #expect(defaults.limits.idleTimeoutSeconds == 120)
        #expect(defaults.limits.maxHeaderBytes == 65_536)
        #expect(defaults.limits.maxConcurrentStreams == 100)
        #expect(defaults.limits.maxUploadBytes == nil)
        #expect(defaults.tlsCertificate == nil && defaults.tlsKey == nil)
    }

    @Test func parsed() throws {
        var configuration = defaults
        try configuration.apply(yaml: """
            tls:
              certificate: /etc/tls/chain.pem
              key: /etc/tls/key.pem
            limits:
              headerTimeoutSeconds: 5
              idleTimeoutSeconds: 60.5
              maxHeaderBytes: 32KiB
              maxConnections: 500
              maxConcurrentStreams: 64
              maxUploadBytes: 1073741824
            """)
        #expect(configuration.tlsCertificate == "/etc/tls/chain.pem")
        #expect(configuration.tlsKey == "/etc/tls/key.pem")
        #expect(configuration.limits.headerTimeoutSeconds == 5)
        #expect(configuration.limits.idleTimeoutSeconds == 60.5)
        #expect(configuration.limits.maxHeaderBytes == 32_768)
        #expect(configuration.limits.maxConcurrentStreams == 64)
        #expect(configuration.limits.maxUploadBytes == 1_073_741_824)
        // limits.maxConnections is the top-level setting.
        #expect(configuration.maxConnections == 500)
        #expect(try configuration.validated() == configuration)
        let printed = ConfigurationPrinter.yaml(configuration)
        #expect(printed.contains("""
            tls:
              certificate: '/etc/tls/chain.pem'
              key: '/etc/tls/key.pem'
            limits:
              headerTimeoutSeconds: 5.0
              idleTimeoutSeconds: 60.5
              maxHeaderBytes: 32768
              maxConcurrentStreams: 64
              maxUploadBytes: 1GiB
            """))
        var again = defaults
        try again.apply(yaml: printed)
        #expect(again.limits == configuration.limits && again.tlsKey == configuration.tlsKey
                && again.tlsCertificate == configuration.tlsCertificate)
    }

    @Test func bothSpellingsOfMaxConnections() throws {
        var same = defaults
        try same.apply(yaml: "maxConnections: 300\nlimits:\n  maxConnections: 300\n")
        #expect(same.maxConnections == 300)
        var differing = defaults
        #expect(throws: ConfigurationError("limits.maxConnections: 400 disagrees with maxConnections: 300 (set one)")) {
            try differing.apply(yaml: "maxConnections: 300\nlimits:\n  maxConnections: 400\n")
        }
    }

    @Test("bad limits are refused with the key named", arguments: [
        ("limits:\n  maxHeaderBytes: lots", "limits.maxHeaderBytes: cannot parse lots as a size above zero"),
        ("limits:\n  maxUploadBytes: 0", "limits.maxUploadBytes: cannot parse 0 as a size above zero"),
        ("limits:\n  maxHeaderBytes: -1", "limits.maxHeaderBytes: cannot parse -1 as a size above zero"),
    ])
    func badValues(_ yaml: String, _ message: String) {
        var configuration = defaults
        #expect(throws: ConfigurationError(message)) { try configuration.apply(yaml: yaml) }
    }

    @Test func validation() throws {
        var configuration = defaults
        configuration.limits.headerTimeoutSeconds = 0
        #expect(throws: ConfigurationError("limits.headerTimeoutSeconds: must be above zero")) { try configuration.validated() }
        configuration = defaults
        configuration.limits.maxConcurrentStreams = 0
        #expect(throws: ConfigurationError("limits.maxConcurrentStreams: must be above zero")) { try configuration.validated() }
        configuration = defaults
        configuration.tlsCertificate = "/x"
        #expect(throws: ConfigurationError("tls: set both certificate and key, or neither")) { try configuration.validated() }
    }
}
