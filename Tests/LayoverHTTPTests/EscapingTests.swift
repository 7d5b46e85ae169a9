import Testing
@testable import LayoverHTTP

@Suite("Escaping")
struct EscapingTests {
    @Test("log values keep printable ASCII and encode the rest", arguments: [
        ("/v2/up/team/app/manifests/v1", "/v2/up/team/app/manifests/v1"),
        ("/v2/a\nforged=1 level=critical", "/v2/a%0Aforged=1%20level=critical"),
        ("a\r\"b\\c%", "a%0D%22b%5Cc%25"),
        ("é", "%C3%A9"),
    ])
    func logValue(_ text: String, _ expected: String) {
        #expect(Escaping.logValue(text) == expected)
    }

    @Test("query values encode what would end the value or the header", arguments: [
        ("docker.io", "docker.io"),
        ("127.0.0.1:5000", "127.0.0.1:5000"),
        ("a\r\nSet-Cookie: x=1", "a%0D%0ASet-Cookie:%20x%3D1"),
        ("a&b=c#d+e", "a%26b%3Dc%23d%2Be"),
        ("<tag>", "%3Ctag%3E"),
    ])
    func queryValue(_ text: String, _ expected: String) {
        #expect(Escaping.queryValue(text) == expected)
    }
}
