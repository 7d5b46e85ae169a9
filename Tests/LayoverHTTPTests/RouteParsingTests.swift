import Foundation
import NIOHTTP1
import Testing
@testable import LayoverHTTP

/// The byte-wise request parsing (`Route(path:)`, `Request`'s target) against the
/// Foundation-based parser it replaced, on paths built from the pieces that matter, and on
/// malformed and percent-encoded targets.
@Suite("Route and target parsing")
struct RouteParsingTests {
    static let digest = "sha256:" + String(repeating: "b", count: 64)

    /// The pieces random paths are made of: markers, separators, names, escapes, non-ASCII
    /// letters (precomposed: `Character` and byte matching agree on them).
    static let pieces = [
        "/", "/", "/", "v2", "/v2/", "manifests", "/manifests/", "blobs", "/blobs/", "uploads", "/blobs/uploads", "tags",
        "list", "/tags/list", "referrers", "/referrers/", "_layover", "/_layover/", "healthz", "metrics", "a", "b", "library",
        digest, "sha256:", "%2F", "%", "é", "日本", "..", "?", ":", "-", "_", "",
    ]

    @Test("agrees with the Foundation-based parser on 20,000 generated paths")
    func agreesWithTheOldParser() {
        var random = SplitMix64(seed: 9)
        for _ in 0..<20_000 {
            let count = Int(random.next() % 9)
            let prefix = ["", "/v2/", "/v2", "/_layover/", "/"][Int(random.next() % 5)]
            let path = prefix + (0..<count).map { _ in Self.pieces[Int(random.next() % UInt64(Self.pieces.count))] }.joined()
            #expect(Route(path: path) == LegacyRoute.parse(path), "path: \(path)")
        }
    }

    @Test("fixed paths agree too", arguments: [
        "/v2/", "/v2", "/v2//", "/v2//tags/list", "/v2/tags/list", "/_layover/", "/_layover", "/v2/a/blobs/uploads",
        "/v2/blobs/uploads", "/v2//blobs/uploads/", "/v2/a/blobs/uploads//", "/v2/a/manifests//", "/v2/a/manifests/x/",
        "/v2//manifests/x", "/v2/a//manifests/x", "/v2/é/manifests/ü", "/v2/a/manifests/%zz", "/v2/a/referrers/\(digest)",
        "/V2/a/manifests/x", "/v2/a/Manifests/x", "//v2/a/manifests/x", "/v2/a/blobs/uploads/x/manifests/y",
    ])
    func fixedPaths(_ path: String) {
        #expect(Route(path: path) == LegacyRoute.parse(path))
    }

    @Test("a percent-encoded target is decoded before it is routed")
    func percentEncodedTargets() {
        let escaped = Self.digest.replacingOccurrences(of: ":", with: "%3A")
        #expect(Self.route("/v2/library%2Falpine/manifests/\(escaped)") == .manifest(name: "library/alpine", reference: Self.digest))
        #expect(Self.route("/v2/a/%62lobs/\(Self.digest)") == .blob(name: "a", digest: Self.digest))
        #expect(Self.route("/v2/a/manifests/v1%2Fx") == .unknown)
        #expect(Self.route("/v2/a%3Fb/tags/list?n=1") == .tags(name: "a?b"))
        #expect(Self.route("/v2/a/manifests/%E2%82%AC") == .manifest(name: "a", reference: "€"))
        // Invalid UTF-8 once decoded becomes U+FFFD, and is refused later as a name or reference.
        #expect(Self.route("/v2/a/manifests/%FF") == .manifest(name: "a", reference: "\u{FFFD}"))
        #expect(Self.route("/v2/a/manifests/%") == .manifest(name: "a", reference: "%"))
    }

    @Test("malformed targets", arguments: [
        ("", Route.notRegistry), ("*", .notRegistry), ("?", .notRegistry), ("?x=1", .notRegistry), ("v2/a/manifests/x", .notRegistry),
        ("http://example.com", .notRegistry), ("http://example.com/v2/?x", .base), ("/v2/%", .unknown), ("/v2/%zz/manifests/%g", .manifest(name: "%zz", reference: "%g")),
    ])
    func malformedTargets(_ target: String, _ route: Route) {
        #expect(Self.route(target) == route)
    }

    /// Markers are matched as bytes: a combining mark after a `/` does not hide it (the name or
    /// reference that results is refused by the grammar later).
    @Test func combiningMarksDoNotHideSeparators() {
        #expect(Route(path: "/v2/a/manifests/\u{301}x") == .manifest(name: "a", reference: "\u{301}x"))
    }

    @Test("the target splits at its first ? by bytes", arguments: [
        ("/v2/?", "/v2/", ""), ("/v2/a?b?c", "/v2/a", "b?c"), ("?", "", ""), ("/v2/é?ü=1", "/v2/é", "ü=1"), ("/v2/a%3F?x", "/v2/a?", "x"),
    ] as [(String, String, String?)])
    func targetSplit(_ target: String, _ path: String, _ query: String?) {
        let request = Request(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: target))
        #expect(request.path == path)
        #expect(request.rawQuery == query)
        #expect(request.uri == target)
    }

    static func route(_ target: String) -> Route {
        Route(path: Request(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: target)).path)
    }
}

/// The parser `Route(path:)` had before it went byte-wise (Foundation's `range(of:)`), kept as
/// the reference the new one must agree with.
private enum LegacyRoute {
    static func parse(_ path: String) -> Route {
        if path == "/v2/" || path == "/v2" { return .base }
        switch path {
        case "/healthz": return .health
        case "/readyz": return .ready
        case "/metrics": return .metrics
        default: break
        }
        if path.hasPrefix("/_layover/") { return .admin(String(path.dropFirst("/_layover/".count))) }
        guard path.hasPrefix("/v2/") else { return .notRegistry }
        let rest = path.dropFirst(4)
        if rest.hasSuffix("/tags/list") { return .tags(name: String(rest.dropLast("/tags/list".count))) }
        if let range = rest.range(of: "/blobs/uploads", options: .backwards) {
            let tail = rest[range.upperBound...]
            if tail.isEmpty || tail == "/" { return .upload(name: String(rest[..<range.lowerBound]), id: nil) }
            if tail.hasPrefix("/"), !tail.dropFirst().contains("/") {
                return .upload(name: String(rest[..<range.lowerBound]), id: String(tail.dropFirst()))
            }
        }
        let markers: [(String, (String, String) -> Route)] = [
            ("/manifests/", { .manifest(name: $0, reference: $1) }),
            ("/blobs/", { .blob(name: $0, digest: $1) }),
            ("/referrers/", { .referrers(name: $0, digest: $1) }),
        ]
        for (marker, make) in markers {
            if let range = rest.range(of: marker, options: .backwards) {
                let name = rest[..<range.lowerBound]
                let last = rest[range.upperBound...]
                if !name.isEmpty, !last.isEmpty, !last.contains("/") { return make(String(name), String(last)) }
            }
        }
        return .unknown
    }
}

/// A small deterministic generator, so that a failing path can be found again.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
