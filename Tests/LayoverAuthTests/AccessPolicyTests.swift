import Testing
@testable import LayoverAuth

@Suite("AccessPolicy")
struct AccessPolicyTests {
    let alice = Principal(name: "alice", kind: .user)
    let bob = Principal(name: "bob", kind: .user)
    let ci = Principal(name: "ci", kind: .token)

    var policy: AccessPolicy {
        AccessPolicy(auth: AuthConfiguration(
            anonymous: [.pull],
            rules: [
                AccessRule(who: ["alice", "ci"], repositories: ["ghcr.io/org/*"], allow: [.pull, .push]),
                AccessRule(who: ["alice"], repositories: ["docker.io/library/*"], allow: [.push]),
                AccessRule(who: ["*"], repositories: ["ghcr.io/org/secret"], allow: []),
                AccessRule(who: ["*"], repositories: ["*"], allow: [.pull]),
            ],
            adminUsers: ["alice"]), listenIsLoopback: false)
    }

    @Test func firstRuleNamingTheClientAndMatchingWins() {
        #expect(policy.rights(of: alice, repository: ["ghcr.io/org/app"]) == [.pull, .push])
        #expect(policy.rights(of: ci, repository: ["ghcr.io/org/team/app"]) == [.pull, .push])
        #expect(policy.rights(of: bob, repository: ["ghcr.io/org/app"]) == [.pull])
        // alice's first rule matches ghcr.io/org/secret before the "*" rule that grants nothing.
        #expect(policy.rights(of: alice, repository: ["ghcr.io/org/secret"]) == [.pull, .push])
        #expect(policy.rights(of: bob, repository: ["ghcr.io/org/secret"]) == [.pull])
        // Either spelling of the repository matches.
        #expect(policy.rights(of: alice, repository: ["docker.io/library/alpine", "docker.io/alpine"]) == [.pull, .push])
        #expect(policy.rights(of: nil, repository: ["ghcr.io/org/app"]) == [.pull])
    }

    @Test("has(right) answers as rights(of:) does, for every client, repository and right")
    func hasAgreesWithRights() {
        let policies = [policy, AccessPolicy(auth: AuthConfiguration(), listenIsLoopback: false),
                        AccessPolicy(auth: AuthConfiguration(rules: []), listenIsLoopback: false)]
        let repositories = [["ghcr.io/org/app"], ["ghcr.io/org/secret"], ["docker.io/library/alpine", "docker.io/alpine"], ["up/x"]]
        for policy in policies {
            for principal in [alice, bob, ci, nil] {
                for names in repositories {
                    let rights = policy.rights(of: principal, repository: names)
                    for right in [Right.pull, .push] {
                        #expect(policy.has(right, principal, repository: names) == rights.contains(right))
                    }
                }
            }
        }
    }

    @Test func noRulesMeansAnyAuthenticatedClientMayDoEverything() {
        let policy = AccessPolicy(auth: AuthConfiguration(), listenIsLoopback: false)
        #expect(policy.rights(of: bob, repository: ["up/x"]) == [.pull, .push])
        #expect(policy.rights(of: nil, repository: ["up/x"]) == [])
        let explicitNone = AccessPolicy(auth: AuthConfiguration(rules: []), listenIsLoopback: false)
        #expect(explicitNone.rights(of: bob, repository: ["up/x"]) == [])
    }

    @Test func decisions() {
        let policy = self.policy
        #expect(policy.decide(.open, .failed(.wrongCredential)) == .allow)
        #expect(policy.decide(.repository(.pull, names: ["ghcr.io/org/app"]), .anonymous) == .allow)
        #expect(policy.decide(.repository(.push, names: ["ghcr.io/org/app"]), .anonymous)
                == .challenge("authentication required to push ghcr.io/org/app"))
        #expect(policy.decide(.repository(.push, names: ["ghcr.io/org/app"]), .authenticated(bob))
                == .deny("bob may not push ghcr.io/org/app"))
        #expect(policy.decide(.repository(.push, names: ["ghcr.io/org/app"]), .authenticated(alice)) == .allow)
        #expect(policy.decide(.repository(.pull, names: ["ghcr.io/org/app"]), .failed(.unknownToken))
                == .challenge("authentication failed: unknown token"))
        #expect(policy.decide(.login, .anonymous) == .allow)
        #expect(policy.decide(.login, .failed(.wrongCredential)) == .challenge("authentication failed: wrong user name, password or token"))
    }

    @Test func loginProbeChallengesWhenAnonymousMayDoNothing() {
        let closed = AccessPolicy(auth: AuthConfiguration(), listenIsLoopback: true)
        #expect(closed.decide(.login, .anonymous) == .challenge("authentication required"))
        #expect(closed.decide(.login, .authenticated(bob)) == .allow)
    }

    @Test func adminEndpoints() {
        let policy = self.policy
        #expect(policy.decide(.admin(clientIsLoopback: true), .anonymous) == .allow)
        #expect(policy.decide(.admin(clientIsLoopback: false), .authenticated(alice)) == .allow)
        #expect(policy.decide(.admin(clientIsLoopback: false), .authenticated(bob)) == .deny("bob is not in auth.adminUsers"))
        #expect(policy.decide(.admin(clientIsLoopback: false), .anonymous)
                == .challenge("admin endpoints need the credentials of an auth.adminUsers entry"))
        let noAdmins = AccessPolicy(auth: AuthConfiguration(anonymous: [.pull]), listenIsLoopback: false)
        #expect(noAdmins.decide(.admin(clientIsLoopback: false), .authenticated(bob))
                == .deny("admin endpoints answer loopback clients only (list users in auth.adminUsers)"))
        #expect(noAdmins.decide(.admin(clientIsLoopback: true), .anonymous) == .allow)
    }

    @Test func withoutAuthSectionLoopbackListenersStayOpen() {
        let open = AccessPolicy(auth: nil, listenIsLoopback: true)
        #expect(!open.authenticationEnabled)
        #expect(open.decide(.repository(.push, names: ["up/x"]), .anonymous) == .allow)
        #expect(open.decide(.admin(clientIsLoopback: false), .anonymous) == .allow)
        #expect(open.decide(.login, .anonymous) == .allow)
    }

    @Test func withoutAuthSectionOtherListenersRefusePushesAndSayHowToEnableThem() {
        let exposed = AccessPolicy(auth: nil, listenIsLoopback: false)
        #expect(exposed.decide(.repository(.pull, names: ["up/x"]), .anonymous) == .allow)
        guard case .deny(let message) = exposed.decide(.repository(.push, names: ["up/x"]), .anonymous) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(message.contains("configure auth"))
        #expect(message.contains("anonymous: [pull, push]"))
        #expect(exposed.decide(.admin(clientIsLoopback: false), .anonymous) == .allow)
    }

    @Test func explicitAnonymousPushOpensPushes() {
        let open = AccessPolicy(auth: AuthConfiguration(anonymous: [.pull, .push]), listenIsLoopback: false)
        #expect(open.decide(.repository(.push, names: ["up/x"]), .anonymous) == .allow)
    }
}
