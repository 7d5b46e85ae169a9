import Testing
@testable import LayoverConfig

@Suite("Intercept configuration")
struct InterceptConfigurationTests {
    @Test func parsesAndPrints() throws {
        var configuration = LayoverConfiguration.embeddedDefault
        try configuration.apply(yaml: """
            intercept:
              listen: 0.0.0.0:3128
              tunnel: deny
              tunnelPorts: [443, 8443]
              ca: {certificate: /etc/layover/ca.crt, key: /etc/layover/ca.key}
            """)
        let validated = try configuration.validated()
        #expect(validated.intercept.listen == "0.0.0.0:3128")
        #expect(validated.intercept.tunnel == .deny)
        #expect(validated.intercept.tunnelPorts == [443, 8443])
        #expect(validated.intercept.caPaths(storage: "/var/lib/layover") == ("/etc/layover/ca.crt", "/etc/layover/ca.key"))
        #expect(ConfigurationPrinter.yaml(validated).contains("""
            intercept:
              listen: '0.0.0.0:3128'
              tunnel: deny
              tunnelPorts: [443, 8443]
              ca:
                certificate: '/etc/layover/ca.crt'
                key: '/etc/layover/ca.key'
            """))
    }

    @Test func offByDefaultWithTheCAUnderTheStore() throws {
        let configuration = try LayoverConfiguration.embeddedDefault.validated()
        #expect(configuration.intercept.listen == nil)
        #expect(!ConfigurationPrinter.yaml(configuration).contains("intercept"))
        #expect(configuration.intercept.caPaths(storage: "/s") == ("/s/ca/ca.crt", "/s/ca/ca.key"))
    }

    @Test("a bad listen address, tunnel policy, port or key is refused", arguments: [
        "intercept: {listen: nowhere}", "intercept: {tunnel: maybe}", "intercept: {tunnelPorts: [0]}", "intercept: {listn: ':3128'}",
    ])
    func refusesBadValues(_ yaml: String) {
        #expect(throws: ConfigurationError.self) {
            var configuration = LayoverConfiguration.embeddedDefault
            try configuration.apply(yaml: yaml)
            _ = try configuration.validated()
        }
    }
}
