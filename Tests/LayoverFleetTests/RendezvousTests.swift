import LayoverStore
import LayoverWire
import Testing
@testable import LayoverFleet

@Suite("Rendezvous hashing")
struct RendezvousTests {
    static let three = ["http://10.0.0.1:5000", "http://10.0.0.2:5000", "http://10.0.0.3:5000"].map(Member.init(url:))
    static let keys = (0..<3000).map { "blob:sha256:\(String($0, radix: 16))" }

    @Test func theOwnerDoesNotDependOnTheListOrder() {
        for key in Self.keys.prefix(200) {
            #expect(Rendezvous.owner(of: key, among: Self.three) == Rendezvous.owner(of: key, among: Self.three.reversed()))
        }
    }

    @Test func noMembersNoOwner() {
        #expect(Rendezvous.owner(of: "x", among: [Member]()) == nil)
    }

    @Test func sharesAreRoughlyEven() {
        var counts: [Member: Int] = [:]
        for key in Self.keys { counts[Rendezvous.owner(of: key, among: Self.three)!, default: 0] += 1 }
        for member in Self.three {
            #expect((800...1200).contains(counts[member] ?? 0), "\(member) owns \(counts[member] ?? 0) of 3000")
        }
    }

    @Test func aLeavingMemberMovesOnlyItsOwnKeys() {
        let remaining = Array(Self.three.dropLast())
        for key in Self.keys {
            let before = Rendezvous.owner(of: key, among: Self.three)!
            let after = Rendezvous.owner(of: key, among: remaining)!
            if before != Self.three.last { #expect(after == before) }
        }
    }

    @Test func aJoiningMemberTakesAboutAQuarterFromEachAndNothingMovesElsewhere() {
        let four = Self.three + [Member(url: "http://10.0.0.4:5000")]
        var moved = 0
        for key in Self.keys {
            let before = Rendezvous.owner(of: key, among: Self.three)!
            let after = Rendezvous.owner(of: key, among: four)!
            if after != before {
                #expect(after == four.last)
                moved += 1
            }
        }
        #expect((600...900).contains(moved), "\(moved) of 3000 keys moved to the new member")
    }

    @Test func weightsAreStableAcrossReleases() {
        // A change here changes every fleet's owners at an upgrade: keep the hash as it is.
        #expect(Rendezvous.weight(Member(url: "http://a:1"), "k") == Rendezvous.weight(Member(url: "http://a:1"), "k"))
        #expect(Rendezvous.weight(Member(url: "http://a:1"), "k") != Rendezvous.weight(Member(url: "http://b:1"), "k"))
    }
}

@Suite("Membership")
struct MembershipTests {
    @Test func ownsEverythingAloneAndCountsItselfIn() throws {
        let me = Member(url: "http://10.0.0.1:5000")
        let alone = Membership(me: me, members: [])
        #expect(alone.current == [me])
        let digest = try Digest(parsing: "sha256:" + String(repeating: "a", count: 64))
        #expect(alone.owner(of: digest) == nil)
        #expect(alone.owner(of: RepositoryKey(upstream: "up", repository: try RepositoryName("team/app"))) == nil)
    }

    @Test func everyNodeAgreesOnOwners() throws {
        let members = RendezvousTests.three
        let views = members.map { Membership(me: $0, members: members) }
        for index in 0..<50 {
            let repository = RepositoryKey(upstream: "up", repository: try RepositoryName("team/app\(index)"))
            let owners = views.map { $0.owner(of: repository) ?? $0.me }
            #expect(Set(owners).count == 1)
            // Exactly one node sees itself as the owner.
            #expect(views.filter { $0.owner(of: repository) == nil }.count == 1)
        }
    }

    @Test func replaceReportsChangesAndKeepsSelf() {
        let me = Member(url: "http://10.0.0.1:5000")
        let membership = Membership(me: me, members: RendezvousTests.three)
        #expect(!membership.replace(with: RendezvousTests.three.reversed()))
        #expect(membership.replace(with: [Member(url: "http://10.0.0.2:5000")]))
        #expect(membership.current == [me, Member(url: "http://10.0.0.2:5000")])
        #expect(membership.member(named: "http://10.0.0.3:5000") == nil)
    }
}

@Suite("Fleet secret")
struct FleetSecretTests {
    @Test func matchesOnlyTheExactSecret() {
        let secret = FleetSecret("correct horse battery staple")
        #expect(secret.matches("correct horse battery staple"))
        #expect(!secret.matches(nil))
        #expect(!secret.matches(""))
        #expect(!secret.matches("correct horse battery stapl"))
        #expect(!secret.matches("correct horse battery staple!"))
        #expect(!secret.matches("Correct horse battery staple"))
    }
}

@Suite("Owned share")
struct OwnedShareTests {
    @Test func aLoneNodeOwnsEverything() {
        let me = Member(url: "http://10.0.0.1:5000")
        #expect(Membership(me: me, members: [me]).ownedShare() == 1)
    }

    @Test func threeMembersShareTheKeysAndTheSharesAddUp() {
        let members = RendezvousTests.three
        let shares = members.map { Membership(me: $0, members: members).ownedShare() }
        #expect(abs(shares.reduce(0, +) - 1) < 1e-9)
        for share in shares { #expect((0.28...0.39).contains(share), "\(shares)") }
    }
}
