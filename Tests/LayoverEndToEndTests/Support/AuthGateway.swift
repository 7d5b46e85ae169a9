import Foundation
import LayoverTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A token-authenticated front for the real registry, as Docker Hub and ghcr.io are: `/v2/`
/// requests need a Bearer token from its `/token` realm (Basic credentials optional), blob GETs
/// are redirected to a separate "blob storage" origin, and 429s can be injected.
final class AuthGateway: Sendable {
    let port: Int
    let storagePort: Int
    private let channels: [any Channel]
    let state: Shared<State>

    struct State: Sendable {
        var issued: Set<String> = []
        var tokenRequests = 0
        var rateLimitNext = 0
        /// The `Retry-After` value sent with an injected 429.
        var retryAfter = "1"
        /// When set, every registry request with a valid token is answered `403` (access denied).
        var denyAll = false
        /// When set, manifest GETs are answered with 5 MiB of JSON whitespace, chunked (no length).
        var oversizedManifests = false
        /// How blob redirects name their target: `absolute` (`http://127.0.0.1:<storage>/storage/…`),
        /// `relative` (`/storage/…?origin=http://…`, served by the front itself, a URL in its query)
        /// or `networkPath` (`//127.0.0.1:<storage>/storage/…`).
        var redirectStyle = "absolute"
        var storageSawAuthorization = false
        var storageRequests = 0
        /// When set, the blob-storage origin plays a hostile host: it answers `401` with a Bearer
        /// challenge whose realm is its own `/token`, and issues `foreign-…` tokens there.
        var storageChallenges = false
        /// Requests the storage origin's token realm received (a leak when above zero).
        var storageTokenRequests = 0
        /// Whether the real front ever saw a token the storage origin issued.
        var frontSawForeignToken = false
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// - Parameter credentials: `user:password` the token endpoint demands; nil allows anonymous tokens.
    init(registry: String, credentials: String?) async throws {
        let state = Shared(State())
        self.state = state
        let storage = try await Self.serve { request, port in
            let challenges = state.withLock { state in
                state.storageRequests += 1
                if request.head.headers["authorization"].first != nil { state.storageSawAuthorization = true }
                return state.storageChallenges
            }
            if challenges {
                if request.head.uri.hasPrefix("/token") {
                    state.withLock { $0.storageTokenRequests += 1 }
                    return (.ok, [("Content-Type", "application/json")], Array("{\"token\":\"foreign-1\",\"expires_in\":300}".utf8))
                }
                if request.head.headers["authorization"].first != "Bearer foreign-1" {
                    let challenge = "Bearer realm=\"http://127.0.0.1:\(port)/token\",service=\"storage\""
                    return (.unauthorized, [("WWW-Authenticate", challenge)], [])
                }
            }
            let target = String(request.head.uri.dropFirst("/storage".count))
            let answer = try await TestHTTP.shared.get(registry + target)
            return (HTTPResponseStatus(statusCode: answer.status), [("Content-Type", "application/octet-stream")], answer.body)
        }
        let storagePort = storage.localAddress!.port!
        let front = try await Self.serve { request, port in
            let head = request.head
            if head.uri.hasPrefix("/token") {
                if let credentials {
                    let expected = "Basic " + Data(credentials.utf8).base64EncodedString()
                    guard head.headers["authorization"].first == expected else { return (.unauthorized, [], Array("{}".utf8)) }
                }
                let token = "tok-\(UUID().uuidString)"
                state.withLock { state in
                    state.tokenRequests += 1
                    state.issued.insert(token)
                }
                return (.ok, [("Content-Type", "application/json")], Array("{\"token\":\"\(token)\",\"expires_in\":300}".utf8))
            }
            let limited = state.withLock { state -> String? in
                guard state.rateLimitNext > 0 else { return nil }
                state.rateLimitNext -= 1
                return state.retryAfter
            }
            if let limited { return (.tooManyRequests, [("Retry-After", limited)], []) }
            if head.uri.hasPrefix("/storage/") {
                let target = String(head.uri.dropFirst("/storage".count).prefix { $0 != "?" })
                let answer = try await TestHTTP.shared.get(registry + target)
                return (HTTPResponseStatus(statusCode: answer.status), [("Content-Type", "application/octet-stream")], answer.body)
            }
            let bearer = head.headers["authorization"].first.map { String($0.dropFirst("Bearer ".count)) } ?? ""
            if bearer.hasPrefix("foreign-") { state.withLock { $0.frontSawForeignToken = true } }
            guard state.withLock({ $0.issued.contains(bearer) }) else {
                let name = head.uri.dropFirst(4).components(separatedBy: "/manifests/")[0].components(separatedBy: "/blobs/")[0]
                let challenge = "Bearer realm=\"http://127.0.0.1:\(port)/token\",service=\"gateway\",scope=\"repository:\(name):pull\""
                return (.unauthorized, [("WWW-Authenticate", challenge), ("Content-Type", "application/json")], Array("{\"errors\":[]}".utf8))
            }
            if state.withLock({ $0.denyAll }) {
                return (.forbidden, [("Content-Type", "application/json")], Array("{\"errors\":[{\"code\":\"DENIED\"}]}".utf8))
            }
            if head.method == .GET, head.uri.contains("/manifests/"), state.withLock({ $0.oversizedManifests }) {
                return (.ok, [("Content-Type", "application/vnd.oci.image.manifest.v1+json"), ("Transfer-Encoding", "chunked")],
                        Array(repeating: UInt8(ascii: " "), count: 5 << 20))
            }
            if head.method == .GET, head.uri.contains("/blobs/") {
                let location = switch state.withLock({ $0.redirectStyle }) {
                case "relative": "/storage\(head.uri)?origin=http://127.0.0.1:\(port)/elsewhere"
                case "networkPath": "//127.0.0.1:\(storagePort)/storage\(head.uri)"
                default: "http://127.0.0.1:\(storagePort)/storage\(head.uri)"
                }
                return (.temporaryRedirect, [("Location", location)], [])
            }
            var headers: [(String, String)] = head.headers["accept"].map { ("Accept", $0) }
            headers.append(("X-Unused", "1"))
            let answer = try await TestHTTP.shared.send(head.method, registry + head.uri, headers: headers)
            let passed = ["content-type", "docker-content-digest", "content-length"].compactMap { name in
                answer.header(name).map { (name, $0) }
            }
            return (HTTPResponseStatus(statusCode: answer.status), passed, head.method == .HEAD ? [] : answer.body)
        }
        port = front.localAddress!.port!
        self.storagePort = storagePort
        channels = [front, storage]
    }

    func close() { for channel in channels { channel.close(promise: nil) } }

    private static func serve(_ handler: @escaping HTTPStub.Handler) async throws -> any Channel {
        try await HTTPStub.serve(handler)
    }
}
