import Foundation
import LayoverStore
import LayoverWire
import Testing
@testable import LayoverHTTP

@Suite("Intercept mode: hosts and confirmations")
struct InterceptAccessTests {
    @Test func upstreamHostsFromTheNameAndAnHTTPSURL() {
        #expect(InterceptOptions.hosts(name: "ghcr.io", url: "https://ghcr.io").map { "\($0.host):\($0.port)" } == ["ghcr.io:443"])
        #expect(InterceptOptions.hosts(name: "docker.io", url: "https://registry-1.docker.io").map { "\($0.host):\($0.port)" }
                == ["docker.io:443", "registry-1.docker.io:443"])
        #expect(InterceptOptions.hosts(name: "registry.test:5000", url: "http://127.0.0.1:5000").map { "\($0.host):\($0.port)" }
                == ["registry.test:5000"])
    }

    static func jwt(exp: Double) -> String {
        let payload = Data("{\"exp\":\(Int(exp))}".utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return "Bearer eyJhbGciOiJub25lIn0.\(payload).sig"
    }

    @Test("a confirmation lasts until the token's exp, 5 minutes at most, 60 s when unreadable; per right and repository")
    func confirmationsExpire() throws {
        let cache = InterceptAccessCache()
        let repository = RepositoryKey(upstream: "ghcr.io", repository: try RepositoryName("org/app"))
        let other = RepositoryKey(upstream: "ghcr.io", repository: try RepositoryName("org/other"))
        let now = 1_800_000_000.0
        let short = Self.jwt(exp: now + 30)
        cache.confirm(short, .pull, repository, now: now)
        #expect(cache.isConfirmed(short, .pull, repository, now: now + 29))
        #expect(!cache.isConfirmed(short, .pull, repository, now: now + 31))
        #expect(!cache.isConfirmed(short, .push, repository, now: now))
        #expect(!cache.isConfirmed(short, .pull, other, now: now))
        #expect(!cache.isConfirmed(nil, .pull, repository, now: now))
        let long = Self.jwt(exp: now + 86_400)
        cache.confirm(long, .pull, repository, now: now)
        #expect(!cache.isConfirmed(long, .pull, repository, now: now + 301))
        cache.confirm("Basic dXNlcjpwYXNz", .pull, repository, now: now)
        #expect(cache.isConfirmed("Basic dXNlcjpwYXNz", .pull, repository, now: now + 59))
        #expect(!cache.isConfirmed("Basic dXNlcjpwYXNz", .pull, repository, now: now + 61))
    }
}
