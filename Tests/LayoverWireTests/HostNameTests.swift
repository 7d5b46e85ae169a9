import LayoverWire
import Testing

@Suite("HostName")
struct HostNameTests {
    @Test("host names, IPv4 and bracketed IPv6 addresses, with or without a port", arguments: [
        "docker.io", "registry-1.docker.io", "ghcr.io", "localhost", "127.0.0.1:5000", "my-registry.internal:443",
        "[::1]", "[::1]:5000", "[2001:db8::8a2e:370:7334]",
    ])
    func valid(_ text: String) {
        #expect(HostName.isValid(text))
    }

    @Test("anything else is refused", arguments: [
        "", "a\r\nSet-Cookie: x=1", "a b", "evil.example/path", "-bad.example", "bad-.example", "a..b", "host:",
        "host:99999", "host:12a", "[::1", "[::g]", "[::1]x", "user@host", "höst.example", "host?x", "%0d",
        String(repeating: "a", count: 64) + ".example",
    ])
    func invalid(_ text: String) {
        #expect(!HostName.isValid(text))
    }
}
