import Testing
import LayoverWire

@Suite("HOST:PORT")
struct HostPortTests {
    @Test func parsesNamesAddressesAndBracketedV6() {
        #expect(HostPort.parse("127.0.0.1:3128")! == ("127.0.0.1", 3128))
        #expect(HostPort.parse("[::1]:3128")! == ("::1", 3128))
        #expect(HostPort.parse("Registry.Test:443")! == ("registry.test", 443))
    }

    @Test func aPortIsRequiredUnlessADefaultIsGiven() {
        #expect(HostPort.parse("host") == nil)
        #expect(HostPort.parse("host", defaultPort: 443)! == ("host", 443))
        #expect(HostPort.parse("[::1]", defaultPort: 80)! == ("::1", 80))
    }

    @Test(arguments: ["::1:3128", "host:99999", "host:0", ":80", "[::1", "[::1]x", "host:port", "a:b:c"])
    func refuses(_ text: String) {
        #expect(HostPort.parse(text, defaultPort: 443) == nil)
    }
}
