import Testing
@testable import LayoverFleet

@Suite("DNS members")
struct DNSMembersTests {
    @Test func everyAddressOfTheNameIsAMember() throws {
        let dns = try #require(DNSMembers("localhost:5000"))
        #expect(dns.name == "localhost" && dns.port == 5000)
        let members = dns.resolve()
        #expect(members.contains(Member(url: "http://127.0.0.1:5000")), "\(members)")
        #expect(members == members.sorted())
    }

    @Test func aNameThatDoesNotResolveGivesNoMembers() throws {
        #expect(try #require(DNSMembers("no-such-host.invalid:5000")).resolve().isEmpty)
        #expect(DNSMembers("no-port") == nil)
    }
}
