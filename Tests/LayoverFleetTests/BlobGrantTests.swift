import Foundation
import Testing
@testable import LayoverFleet

@Suite("Blob redirect grants")
struct BlobGrantTests {
    static let secret = FleetSecret("grant-secret-for-the-tests-0123")
    static let digest = "sha256:" + String(repeating: "ab", count: 32)
    static let now = 1_800_000_000.0

    static func grant(name: String = "up/team/app", namespace: String? = nil, now: Double = now) -> String {
        BlobGrant.make(secret, name: name, digest: digest, namespace: namespace, now: now)
    }

    static func valid(_ grant: String, name: String = "up/team/app", digest: String = digest, namespace: String? = nil,
                      secret: FleetSecret = secret, now: Double = now) -> Bool {
        BlobGrant.isValid(grant, secret, name: name, digest: digest, namespace: namespace, now: now)
    }

    @Test func validForItsBlobUntilItExpires() {
        let grant = Self.grant()
        #expect(Self.valid(grant))
        #expect(Self.valid(grant, now: Self.now + BlobGrant.lifetime))
        #expect(!Self.valid(grant, now: Self.now + BlobGrant.lifetime + 1))
    }

    @Test func boundToNameNamespaceDigestAndSecret() {
        let grant = Self.grant(namespace: "ghcr.io")
        #expect(Self.valid(grant, namespace: "ghcr.io"))
        #expect(!Self.valid(grant))
        #expect(!Self.valid(grant, name: "up/team/other", namespace: "ghcr.io"))
        #expect(!Self.valid(grant, digest: "sha256:" + String(repeating: "cd", count: 32), namespace: "ghcr.io"))
        #expect(!Self.valid(grant, namespace: "ghcr.io", secret: FleetSecret("another-secret-0123456789")))
    }

    @Test("an expiry moved later, or further ahead than a grant is ever made for, is refused")
    func expiryCannotBeStretched() {
        let grant = Self.grant()
        let code = grant.split(separator: ".")[1]
        let expiry = Int64(grant.split(separator: ".")[0])!
        #expect(!Self.valid("\(expiry + 3600).\(code)"))
        let farAhead = Self.grant(now: Self.now + 10 * BlobGrant.lifetime)
        #expect(!Self.valid(farAhead))
    }

    @Test(arguments: ["", ".", "123", "abc.def", "99999999999.zz", "1800000300.abcd"])
    func malformedIsRefused(_ grant: String) {
        #expect(!Self.valid(grant))
    }
}
