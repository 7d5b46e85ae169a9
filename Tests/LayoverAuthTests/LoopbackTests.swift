import Testing
@testable import LayoverAuth

@Suite("Loopback")
struct LoopbackTests {
    @Test(arguments: ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1",
                      "localhost", "LOCALHOST"])
    func loopback(_ address: String) {
        #expect(Loopback.contains(address))
    }

    @Test(arguments: ["0.0.0.0", "::", "[::]", "10.0.0.1", "128.0.0.1", "::ffff:10.0.0.1", "layover.internal",
                      "127.0.0", "127.0.0.1.5", "127.0.0.256", "fe80::1%lo", "", "1270.0.0.1"])
    func notLoopback(_ address: String) {
        #expect(!Loopback.contains(address))
    }
}
