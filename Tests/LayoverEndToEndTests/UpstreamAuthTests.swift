import Foundation
import LayoverTestSupport
import Testing

/// The upstream client against a token-authenticated upstream (the real registry behind a gateway
/// that speaks the Bearer-token dance, redirects blobs to another origin and rate limits).
@Suite("Upstream auth, redirects and rate limits", .endToEnd)
struct UpstreamAuthTests {
    struct Setup {
        let registry: UpstreamRegistry
        let gateway: AuthGateway
        let storage: TemporaryDirectory
        let layover: LayoverProcess
        let image: Seeder.Image

        init(credentials: String?, configYAML: ((String) -> String)? = nil) async throws {
            registry = try await UpstreamRegistry()
            gateway = try await AuthGateway(registry: registry.url, credentials: credentials)
            storage = try TemporaryDirectory()
            image = try await Seeder(registry: registry.url).pushImage("team/app", tag: "v1", layerSizes: [200_000])
            var arguments: [String] = []
            if let configYAML {
                let path = storage.path + "/layover.yml"
                try configYAML(gateway.url).write(toFile: path, atomically: true, encoding: .utf8)
                arguments = ["--config", path]
            }
            layover = try await LayoverProcess(upstreamURL: gateway.url, storage: storage.path + "/store", extraArguments: arguments)
        }

        func shutdown() {
            layover.stop(signal: SIGKILL)
            gateway.close()
            registry.stop()
            storage.remove()
        }
    }

    static let accept = [("Accept", "application/vnd.oci.image.manifest.v1+json")]

    @Test("anonymous Bearer tokens are fetched once per scope and reused; blob redirects drop Authorization")
    func anonymousTokenDance() async throws {
        let setup = try await Setup(credentials: nil)
        defer { setup.shutdown() }
        let base = "\(setup.layover.url)/v2/up/team/app"
        let manifest = try await TestHTTP.shared.get("\(base)/manifests/v1", headers: Self.accept)
        #expect(manifest.status == 200)
        #expect(manifest.body == setup.image.manifest)
        let layer = setup.image.layers[0]
        let blob = try await TestHTTP.shared.get("\(base)/blobs/\(layer.digest)")
        #expect(blob.body == layer.bytes)
        _ = try await TestHTTP.shared.get("\(base)/manifests/v1", headers: Self.accept)

        let state = setup.gateway.state.withLock { $0 }
        #expect(state.tokenRequests == 1, "one token for the scope, cached until expiry")
        #expect(state.storageRequests == 1)
        #expect(!state.storageSawAuthorization, "Authorization must not follow a redirect to another origin")
    }

    @Test("credentials from the config file are sent to the token endpoint")
    func configuredCredentials() async throws {
        let setup = try await Setup(credentials: "ci:s3cret") { url in
            """
            upstreams:
              up:
                url: \(url)
                username: ci
                password: s3cret
            """
        }
        defer { setup.shutdown() }
        let manifest = try await TestHTTP.shared.get("\(setup.layover.url)/v2/up/team/app/manifests/v1", headers: Self.accept)
        #expect(manifest.status == 200)
        #expect(manifest.body == setup.image.manifest)
    }

    @Test("refused credentials answer UNAUTHORIZED")
    func refusedCredentials() async throws {
        let setup = try await Setup(credentials: "ci:s3cret")
        defer { setup.shutdown() }
        let answer = try await TestHTTP.shared.get("\(setup.layover.url)/v2/up/team/app/manifests/v1", headers: Self.accept)
        #expect(answer.status == 401)
        #expect(answer.text.contains("UNAUTHORIZED"))
        #expect(answer.header("www-authenticate") != nil, "RFC 9110 §15.5.2: a 401 carries a challenge")
    }

    @Test("an upstream 403 is 403 DENIED, for manifests and blobs")
    func upstreamDenies() async throws {
        let setup = try await Setup(credentials: nil)
        defer { setup.shutdown() }
        setup.gateway.state.withLock { $0.denyAll = true }
        let base = "\(setup.layover.url)/v2/up/team/app"
        for url in ["\(base)/manifests/v1", "\(base)/blobs/\(setup.image.layers[0].digest)"] {
            let answer = try await TestHTTP.shared.get(url, headers: Self.accept)
            #expect(answer.status == 403, "\(url): \(answer.text)")
            #expect(answer.text.contains("\"DENIED\""), "\(url): \(answer.text)")
        }
    }

    @Test("a rate-limited blob GET is 429 TOOMANYREQUESTS with the upstream's Retry-After")
    func blobRateLimited() async throws {
        let setup = try await Setup(credentials: nil)
        defer { setup.shutdown() }
        setup.gateway.state.withLock { $0.rateLimitNext = 100 }
        let answer = try await TestHTTP.shared.get("\(setup.layover.url)/v2/up/team/app/blobs/\(setup.image.layers[0].digest)")
        #expect(answer.status == 429, "\(answer.text)")
        #expect(answer.text.contains("TOOMANYREQUESTS"))
        #expect(answer.header("retry-after") == "1")
    }

    @Test("Retry-After as an HTTP-date is understood; a negative one is dropped")
    func retryAfterForms() async throws {
        let setup = try await Setup(credentials: nil)
        defer { setup.shutdown() }
        let url = "\(setup.layover.url)/v2/up/team/app/manifests/v1"
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let date = formatter.string(from: Date().addingTimeInterval(60))
        setup.gateway.state.withLock { $0.rateLimitNext = 100; $0.retryAfter = date }
        let dated = try await TestHTTP.shared.get(url, headers: Self.accept)
        #expect(dated.status == 429)
        let seconds = try #require(dated.header("retry-after").flatMap(Int.init), "Retry-After: \(dated.header("retry-after") ?? "none")")
        #expect((50...61).contains(seconds))

        setup.gateway.state.withLock { $0.rateLimitNext = 100; $0.retryAfter = "-5" }
        let negative = try await TestHTTP.shared.get(url, headers: Self.accept)
        #expect(negative.status == 429)
        #expect(negative.header("retry-after") == nil)
    }

    @Test("429 with a short Retry-After is waited out and retried")
    func rateLimitRetried() async throws {
        let setup = try await Setup(credentials: nil)
        defer { setup.shutdown() }
        setup.gateway.state.withLock { $0.rateLimitNext = 1 }
        let manifest = try await TestHTTP.shared.get("\(setup.layover.url)/v2/up/team/app/manifests/v1", headers: Self.accept)
        #expect(manifest.status == 200)
        #expect(setup.gateway.state.withLock { $0.rateLimitNext } == 0)
    }

    @Test("a rate-limited upstream with a cached tag serves the last known digest")
    func rateLimitedServesStale() async throws {
        let setup = try await Setup(credentials: nil)
        defer { setup.shutdown() }
        let url = "\(setup.layover.url)/v2/up/team/app/manifests/v1"
        _ = try await TestHTTP.shared.get(url, headers: Self.accept)
        setup.gateway.state.withLock { $0.rateLimitNext = 100 }
        let stale = try await TestHTTP.shared.get(url, headers: Self.accept)
        #expect(stale.status == 200)
        #expect(stale.body == setup.image.manifest)
    }

    @Test("a 401 from the host a blob redirect leads to is a 502, never a login with the upstream's credentials")
    func redirectTargetChallengeRefused() async throws {
        let setup = try await Setup(credentials: "alice:s3cret") { url in
            """
            upstreams:
              up:
                url: \(url)
                username: alice
                password: s3cret
            """
        }
        defer { setup.shutdown() }
        // A token for the repository's scope is cached first, as in any real pull.
        let manifest = try await TestHTTP.shared.get("\(setup.layover.url)/v2/up/team/app/manifests/v1", headers: Self.accept)
        #expect(manifest.status == 200)
        setup.gateway.state.withLock { $0.storageChallenges = true }
        let layer = setup.image.layers[0]
        let answer = try await TestHTTP.shared.get("\(setup.layover.url)/v2/up/team/app/blobs/\(layer.digest)")
        #expect(answer.status == 502)
        #expect(answer.text.contains("UNAVAILABLE"), "\(answer.text)")
        #expect(answer.text.contains("redirect target"), "the reason says what happened: \(answer.text)")
        let state = setup.gateway.state.withLock { $0 }
        #expect(state.storageRequests >= 1, "the redirect was followed")
        #expect(state.storageTokenRequests == 0, "the redirect target's token realm must not be asked")
        #expect(!state.storageSawAuthorization, "no credentials or tokens to the redirect target")
        #expect(!state.frontSawForeignToken, "a token from the redirect target must not be used against the upstream")
    }

    @Test("an upstream manifest over 4 MiB sent without a length is MANIFEST_INVALID naming the limit")
    func oversizedChunkedManifest() async throws {
        let setup = try await Setup(credentials: nil)
        defer { setup.shutdown() }
        setup.gateway.state.withLock { $0.oversizedManifests = true }
        let answer = try await TestHTTP.shared.get("\(setup.layover.url)/v2/up/team/app/manifests/\(setup.image.manifestDigest)",
                                                   headers: Self.accept)
        #expect(answer.status == 502)
        #expect(answer.text.contains("\"MANIFEST_INVALID\""), "\(answer.text)")
        #expect(answer.text.contains("4 MiB"), "\(answer.text)")
    }

    @Test("redirect Locations are resolved as RFC 3986 says: a relative one with a URL in its query, a network-path one",
          arguments: ["relative", "networkPath"])
    func redirectResolution(_ style: String) async throws {
        let setup = try await Setup(credentials: nil)
        defer { setup.shutdown() }
        setup.gateway.state.withLock { $0.redirectStyle = style }
        let layer = setup.image.layers[0]
        let blob = try await TestHTTP.shared.get("\(setup.layover.url)/v2/up/team/app/blobs/\(layer.digest)")
        #expect(blob.status == 200, "\(blob.text.prefix(300))")
        #expect(blob.body.count == layer.bytes.count && blob.body == layer.bytes)
        if style == "networkPath" { #expect(setup.gateway.state.withLock { $0.storageRequests } == 1) }
    }
}
