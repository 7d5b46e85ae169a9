import Testing
@testable import LayoverUpstream

@Suite("AuthChallenge")
struct AuthChallengeTests {
    @Test func parsesDockerHubsBearerChallenge() throws {
        let challenge = try #require(AuthChallenge(header:
            #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#))
        #expect(challenge == AuthChallenge(scheme: "bearer", parameters: [
            "realm": "https://auth.docker.io/token",
            "service": "registry.docker.io",
            "scope": "repository:library/alpine:pull",
        ]))
    }

    @Test func keepsCommasInsideQuotedValues() throws {
        let challenge = try #require(AuthChallenge(header:
            #"Bearer realm="https://auth.example/token",scope="repository:team/app:pull,push",service="registry.example""#))
        #expect(challenge.parameters == [
            "realm": "https://auth.example/token",
            "scope": "repository:team/app:pull,push",
            "service": "registry.example",
        ])
    }

    @Test func lowercasesTheSchemeAndKeysButNotValues() throws {
        let challenge = try #require(AuthChallenge(header: #"BEARER Realm="https://Auth.Example/Token", SERVICE="Reg""#))
        #expect(challenge.scheme == "bearer")
        #expect(challenge.parameters == ["realm": "https://Auth.Example/Token", "service": "Reg"])
    }

    @Test func unescapesBackslashesInQuotedValues() throws {
        let challenge = try #require(AuthChallenge(header: #"Bearer realm="a\"b\\c",error="insufficient_scope""#))
        #expect(challenge.parameters == ["realm": #"a"b\c"#, "error": "insufficient_scope"])
    }

    @Test func readsUnquotedValuesTrimmed() throws {
        let challenge = try #require(AuthChallenge(header: "Bearer realm = https://auth.example/token , service=reg,scope=x"))
        #expect(challenge.parameters == ["realm": "https://auth.example/token", "service": "reg", "scope": "x"])
    }

    @Test func parsesBasic() throws {
        let challenge = try #require(AuthChallenge(header: #"Basic realm="Registry Realm""#))
        #expect(challenge == AuthChallenge(scheme: "basic", parameters: ["realm": "Registry Realm"]))
    }

    @Test func aSchemeAloneHasNoParameters() throws {
        #expect(AuthChallenge(header: "Basic") == AuthChallenge(scheme: "basic", parameters: [:]))
        #expect(AuthChallenge(header: "  Bearer") == AuthChallenge(scheme: "bearer", parameters: [:]))
        #expect(AuthChallenge(header: "Bearer ") == AuthChallenge(scheme: "bearer", parameters: [:]))
    }

    @Test func leadingSpacesAreSkipped() throws {
        let challenge = try #require(AuthChallenge(header: #"   Bearer realm="x""#))
        #expect(challenge == AuthChallenge(scheme: "bearer", parameters: ["realm": "x"]))
    }

    @Test func theFirstOfSeveralChallengesKeepsItsParameters() throws {
        let challenge = try #require(AuthChallenge(header: #"Bearer realm="https://a.example/token",service="a", Basic realm="b""#))
        #expect(challenge.scheme == "bearer")
        #expect(challenge.parameters["realm"] == "https://a.example/token")
        #expect(challenge.parameters["service"] == "a")
    }

    @Test("an empty header has no challenge", arguments: ["", " ", "     "])
    func empty(_ header: String) {
        #expect(AuthChallenge(header: header) == nil)
    }

    @Test func garbageYieldsNoUsableParameters() {
        #expect(AuthChallenge(header: "garbage") == AuthChallenge(scheme: "garbage", parameters: [:]))
        #expect(AuthChallenge(header: "Bearer realm") == AuthChallenge(scheme: "bearer", parameters: [:]))
        #expect(AuthChallenge(header: "Bearer ,,, ,") == AuthChallenge(scheme: "bearer", parameters: [:]))
        #expect(AuthChallenge(header: #"Bearer ="x",realm="y""#) == AuthChallenge(scheme: "bearer", parameters: ["realm": "y"]))
        #expect(AuthChallenge(header: #"Bearer realm="unterminated"#)
            == AuthChallenge(scheme: "bearer", parameters: ["realm": "unterminated"]))
        #expect(AuthChallenge(header: "Bearer realm=") == AuthChallenge(scheme: "bearer", parameters: ["realm": ""]))
    }
}
