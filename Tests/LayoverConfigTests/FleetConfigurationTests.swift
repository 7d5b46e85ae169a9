import Testing
@testable import LayoverConfig

@Suite("Fleet configuration")
struct FleetConfigurationTests {
    static let yaml = """
        fleet:
          advertise: http://10.0.0.2:5000
          peers: [http://10.0.0.1:5000, http://10.0.0.2:5000/, http://10.0.0.3:5000]
          secret: a-secret-of-sixteen-or-more
        """

    @Test func parsesPrintsAndMasksTheSecret() throws {
        var configuration = LayoverConfiguration.embeddedDefault
        try configuration.apply(yaml: Self.yaml)
        let validated = try configuration.validated()
        #expect(validated.fleet.isEnabled)
        #expect(validated.fleet.peers.count == 3)
        let printed = ConfigurationPrinter.yaml(validated)
        #expect(!printed.contains("a-secret-of-sixteen"))
        #expect(printed.contains("""
            fleet:
              advertise: 'http://10.0.0.2:5000'
              peers: ['http://10.0.0.1:5000', 'http://10.0.0.2:5000/', 'http://10.0.0.3:5000']
              secret: '********'
            """))
    }

    @Test func aFleetOfOneIsTheDefaultAndPrintsNothing() throws {
        let configuration = try LayoverConfiguration.embeddedDefault.validated()
        #expect(!configuration.fleet.isEnabled)
        #expect(!ConfigurationPrinter.yaml(configuration).contains("fleet"))
    }

    @Test func refusesMembersWithoutSelfOrSecret() throws {
        var missingSelf = LayoverConfiguration.embeddedDefault
        try missingSelf.apply(yaml: Self.yaml.replacingOccurrences(of: "advertise: http://10.0.0.2:5000", with: "advertise: http://10.0.0.9:5000"))
        #expect(throws: ConfigurationError.self) { try missingSelf.validated() }
        var noSecret = LayoverConfiguration.embeddedDefault
        try noSecret.apply(yaml: Self.yaml.replacingOccurrences(of: "  secret: a-secret-of-sixteen-or-more", with: ""))
        #expect(throws: ConfigurationError.self) { try noSecret.validated() }
        var badDNS = LayoverConfiguration.embeddedDefault
        try badDNS.apply(yaml: "fleet: {advertise: 'http://10.0.0.2:5000', peersFromDNS: layover, secret: a-secret-of-sixteen-or-more}")
        #expect(throws: ConfigurationError.self) { try badDNS.validated() }
    }

    @Test func refusesAnUnknownFleetKey() {
        var configuration = LayoverConfiguration.embeddedDefault
        #expect(throws: ConfigurationError.self) { try configuration.apply(yaml: "fleet: {peer: [http://a:1]}") }
    }

    @Test func readsTheSecretFromAFileOrTheEnvironment() throws {
        var configuration = LayoverConfiguration.embeddedDefault
        try configuration.apply(environment: ["LAYOVER_FLEET_SECRET": "from-the-environment", "LAYOVER_FLEET_ADVERTISE": "http://a:1"])
        #expect(configuration.fleet.secret == "from-the-environment")
        #expect(configuration.fleet.advertise == "http://a:1")
        #expect(try configuration.fleet.resolvedSecret() == "from-the-environment")
    }

    @Test func normalizesMemberURLs() {
        #expect(FleetConfiguration.normalized("HTTP://Node-1:5000/") == "http://node-1:5000")
        #expect(FleetConfiguration.normalized("http://node") == "http://node:80")
        #expect(FleetConfiguration.normalized("http://[::1]:5000") == "http://[::1]:5000")
        #expect(FleetConfiguration.normalized("node:5000") == nil)
        #expect(FleetConfiguration.normalized("http://node:5000/v2") == nil)
    }
}
