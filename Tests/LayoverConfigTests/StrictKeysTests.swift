import Testing
@testable import LayoverConfig

@Suite("unknown configuration keys")
struct StrictKeysTests {
    @Test("an unknown key anywhere is refused with its path and the nearest known key", arguments: [
        ("auht:\n  anonymous: [pull]", "config file: unknown key `auht` (did you mean `auth`?)"),
        ("maxbytes: 1GiB", "config file: unknown key `maxbytes` (did you mean `maxBytes`?)"),
        ("listen: 127.0.0.1:5000\nstorge: /x", "config file: unknown key `storge` (did you mean `storage`?)"),
        ("upstreams:\n  ghcr.io:\n    url: https://ghcr.io\n    pasword: x",
         "config file: unknown key `upstreams.ghcr.io.pasword` (did you mean `password`?)"),
        ("auth:\n  rules:\n    - who: [a]\n      repositories: [x]\n      alow: [pull]",
         "config file: unknown key `auth.rules[0].alow` (did you mean `allow`?)"),
        ("auth:\n  tokens:\n    - name: ci\n      sha265: abc", "config file: unknown key `auth.tokens[0].sha265` (did you mean `sha256`?)"),
        ("auth:\n  adminusers: [a]", "config file: unknown key `auth.adminusers` (did you mean `adminUsers`?)"),
        ("tls:\n  cert: /x", "config file: unknown key `tls.cert` (did you mean `certificate`?)"),
        ("tls:\n  chain: /x", "config file: unknown key `tls.chain` (known here: certificate, key)"),
        ("limits:\n  headerTimeout: 5", "config file: unknown key `limits.headerTimeout` (did you mean `headerTimeoutSeconds`?)"),
        ("limits:\n  maxConnection: 5", "config file: unknown key `limits.maxConnection` (did you mean `maxConnections`?)"),
    ])
    func refused(_ yaml: String, _ message: String) {
        var configuration = LayoverConfiguration.embeddedDefault
        #expect(throws: ConfigurationError(message)) { try configuration.apply(yaml: yaml) }
    }

    @Test func aKeyFarFromAnyKnownOneListsTheKnownKeys() {
        var configuration = LayoverConfiguration.embeddedDefault
        let error = #expect(throws: ConfigurationError.self) { try configuration.apply(yaml: "completelyDifferent: 1\n") }
        #expect(error?.description.hasPrefix("config file: unknown key `completelyDifferent` (known here: accessLog, auth,") == true)
    }

    @Test func everyKnownKeyIsAccepted() throws {
        var configuration = LayoverConfiguration.embeddedDefault
        try configuration.apply(yaml: """
            listen: 0.0.0.0:5000
            storage: /var/lib/layover
            maxBytes: 200GiB
            defaultUpstream: docker.io
            uploadTimeoutSeconds: 900
            maxUploadSessions: 1024
            maxConnections: 896
            accessLog: true
            logFormat: text
            shutdownGraceSeconds: 30
            scrubBytesPerSecond: 50MiB
            upstreams:
              ghcr.io:
                url: https://ghcr.io
                username: ci-bot
                password: x
                tagFreshnessSeconds: 30
                push: async
                stallTimeoutSeconds: 60
                uploadChunkSize: 64MiB
                allowDelete: false
            auth:
              htpasswd: /etc/layover/htpasswd
              tokens:
                - name: ci
                  sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
              anonymous: [pull]
              rules:
                - who: [alice]
                  repositories: ["*"]
                  allow: [pull]
              adminUsers: [alice]
            tls:
              certificate: /etc/layover/tls.crt
              key: /etc/layover/tls.key
            limits:
              headerTimeoutSeconds: 10
              idleTimeoutSeconds: 120
              maxHeaderBytes: 64KiB
              maxConnections: 896
              maxConcurrentStreams: 100
              maxUploadBytes: 10GiB
            """)
        #expect(try configuration.validated() == configuration)
    }

    @Test func nearestKey() {
        #expect(ConfigurationKeys.distance("auht", "auth") == 1)
        #expect(ConfigurationKeys.distance("", "abc") == 3)
        #expect(ConfigurationKeys.distance("kitten", "sitting") == 3)
        #expect(ConfigurationKeys.nearest(to: "lisen", among: ["listen", "storage"]) == "listen")
        #expect(ConfigurationKeys.nearest(to: "xyz", among: ["listen", "storage"]) == nil)
        #expect(ConfigurationKeys.nearest(to: "x", among: []) == nil)
    }
}
