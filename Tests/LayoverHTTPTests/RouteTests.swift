import Testing
@testable import LayoverHTTP

@Suite("Route")
struct RouteTests {
    static let digest = "sha256:" + String(repeating: "a", count: 64)

    @Test("the API base", arguments: ["/v2/", "/v2"])
    func base(_ path: String) {
        #expect(Route(path: path) == .base)
    }

    @Test("paths outside /v2/", arguments: ["/", "", "/v1/library/alpine/manifests/latest", "/v2x", "/health", "v2/", "/healthz/x"])
    func notRegistry(_ path: String) {
        #expect(Route(path: path) == .notRegistry)
    }

    @Test("manifests", arguments: [
        ("/v2/library/alpine/manifests/3.20", "library/alpine", "3.20"),
        ("/v2/alpine/manifests/latest", "alpine", "latest"),
        ("/v2/ghcr.io/owner/app/manifests/\(digest)", "ghcr.io/owner/app", digest),
    ])
    func manifests(_ path: String, _ name: String, _ reference: String) {
        #expect(Route(path: path) == .manifest(name: name, reference: reference))
    }

    @Test("operator endpoints")
    func operatorEndpoints() {
        #expect(Route(path: "/healthz") == .health)
        #expect(Route(path: "/readyz") == .ready)
        #expect(Route(path: "/metrics") == .metrics)
        #expect(Route(path: "/_layover/status") == .admin("status"))
        #expect(Route(path: "/healthz").endpoint == "health")
        #expect(Route(path: "/v2/a/blobs/\(Self.digest)").endpoint == "blob")
        #expect(Route(path: "/nope").endpoint == "unknown")
    }

    @Test func blobs() {
        #expect(Route(path: "/v2/library/alpine/blobs/\(Self.digest)") == .blob(name: "library/alpine", digest: Self.digest))
        #expect(Route(path: "/v2/a/blobs/not-a-digest") == .blob(name: "a", digest: "not-a-digest"))
    }

    @Test func tagsList() {
        #expect(Route(path: "/v2/library/alpine/tags/list") == .tags(name: "library/alpine"))
        #expect(Route(path: "/v2/a/tags/list") == .tags(name: "a"))
    }

    @Test func uploadsWithoutAnID() {
        #expect(Route(path: "/v2/library/alpine/blobs/uploads/") == .upload(name: "library/alpine", id: nil))
        #expect(Route(path: "/v2/library/alpine/blobs/uploads") == .upload(name: "library/alpine", id: nil))
    }

    @Test func uploadsWithAnID() {
        #expect(Route(path: "/v2/library/alpine/blobs/uploads/5f0c-42") == .upload(name: "library/alpine", id: "5f0c-42"))
    }

    @Test func referrers() {
        #expect(Route(path: "/v2/library/alpine/referrers/\(Self.digest)") == .referrers(name: "library/alpine", digest: Self.digest))
    }

    @Test("names with blobs, manifests, uploads or tags components", arguments: [
        ("/v2/team/blobs/app/manifests/latest", Route.manifest(name: "team/blobs/app", reference: "latest")),
        ("/v2/a/manifests/b/manifests/latest", .manifest(name: "a/manifests/b", reference: "latest")),
        ("/v2/my/manifests/repo/blobs/\(digest)", .blob(name: "my/manifests/repo", digest: digest)),
        ("/v2/a/blobs/b/blobs/\(digest)", .blob(name: "a/blobs/b", digest: digest)),
        ("/v2/manifests/blobs/\(digest)", .blob(name: "manifests", digest: digest)),
        ("/v2/blobs/manifests/v1", .manifest(name: "blobs", reference: "v1")),
        ("/v2/org/blobs/uploads/manifests/v1", .manifest(name: "org/blobs/uploads", reference: "v1")),
        ("/v2/org/blobs/uploads/blobs/uploads/", .upload(name: "org/blobs/uploads", id: nil)),
        ("/v2/org/blobs/uploads/blobs/uploads/u1", .upload(name: "org/blobs/uploads", id: "u1")),
        ("/v2/org/tags/list/tags/list", .tags(name: "org/tags/list")),
        ("/v2/org/tags/manifests/latest", .manifest(name: "org/tags", reference: "latest")),
        ("/v2/org/referrers/x/manifests/v1", .manifest(name: "org/referrers/x", reference: "v1")),
        ("/v2/org/blobs/uploadsx/manifests/v1", .manifest(name: "org/blobs/uploadsx", reference: "v1")),
    ])
    func namesContainingMarkers(_ path: String, _ route: Route) {
        #expect(Route(path: path) == route)
    }

    @Test("anything else under /v2/ is unknown", arguments: [
        "/v2/library/alpine",
        "/v2/_catalog",
        "/v2/library/alpine/manifests/",
        "/v2/library/alpine/manifests/a/b",
        "/v2/library/alpine/blobs/",
        "/v2/library/alpine/blobs/uploads/a/b",
        "/v2/manifests/latest",
        "/v2/blobs/\(digest)",
        "/v2/blobs/uploads/",
        "/v2/library/alpine/tags",
        "/v2/library/alpine/other/x/y",
    ])
    func unknown(_ path: String) {
        #expect(Route(path: path) == .unknown)
    }
}
