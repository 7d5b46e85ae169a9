import NIOHTTP1
import Testing
@testable import LayoverHTTP

/// How each request is classified before its credential is checked.
@Suite("Access requirement")
struct AccessRequirementTests {
    static let digest = "sha256:" + String(repeating: "a", count: 64)

    static func describe(_ method: HTTPMethod, _ target: String) -> String {
        let request = Request(head: HTTPRequestHead(version: .http1_1, method: method, uri: target))
        return switch RegistryResponder.requirement(request, Route(path: request.path)) {
        case .open: "open"
        case .login: "login"
        case .admin: "admin"
        case .repository(let right, let name): "\(right) \(name)"
        }
    }

    @Test("every route", arguments: [
        (HTTPMethod.GET, "/healthz", "open"),
        (.GET, "/readyz", "open"),
        (.GET, "/metrics", "admin"),
        (.GET, "/_layover/status", "admin"),
        (.POST, "/_layover/queue/retry?all=true", "admin"),
        (.POST, "/_layover/verify", "admin"),
        (.GET, "/_layover/verify?pass=1", "admin"),
        (.GET, "/_layover/nothing", "admin"),
        (.GET, "/v2/", "login"),
        (.HEAD, "/v2", "login"),
        (.GET, "/v2/_catalog", "login"),
        (.GET, "/favicon.ico", "login"),
        (.GET, "/v2/up/team/app/manifests/v1", "pull up/team/app"),
        (.HEAD, "/v2/up/team/app/manifests/v1", "pull up/team/app"),
        (.PUT, "/v2/up/team/app/manifests/v1", "push up/team/app"),
        (.DELETE, "/v2/up/team/app/manifests/v1", "push up/team/app"),
        (.GET, "/v2/alpine/blobs/\(digest)", "pull alpine"),
        (.HEAD, "/v2/alpine/blobs/\(digest)", "pull alpine"),
        (.DELETE, "/v2/alpine/blobs/\(digest)", "push alpine"),
        (.GET, "/v2/org/app/tags/list?ns=ghcr.io", "pull org/app"),
        (.GET, "/v2/org/app/referrers/\(digest)", "pull org/app"),
        (.POST, "/v2/org/app/blobs/uploads/", "push org/app"),
        (.POST, "/v2/org/app/blobs/uploads/?mount=\(digest)&from=org/base", "push org/app"),
        (.PATCH, "/v2/org/app/blobs/uploads/abc", "push org/app"),
        (.PUT, "/v2/org/app/blobs/uploads/abc?digest=\(digest)", "push org/app"),
        // Reading an upload's status or cancelling it belongs to the pusher too.
        (.GET, "/v2/org/app/blobs/uploads/abc", "push org/app"),
        (.DELETE, "/v2/org/app/blobs/uploads/abc", "push org/app"),
        // A method a pull route does not take is classified as a push (it is refused either way).
        (.POST, "/v2/org/app/manifests/v1", "push org/app"),
    ])
    func classified(_ method: HTTPMethod, _ target: String, _ expected: String) {
        #expect(Self.describe(method, target) == expected)
    }
}
