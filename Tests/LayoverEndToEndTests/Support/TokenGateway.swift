import Foundation
import LayoverTestSupport
import NIOCore
import NIOHTTP1
import Synchronization

/// A token-authenticated front for the real registry that pushes go through, as Docker Hub and
/// GHCR are: every `/v2/` request needs a Bearer token from its `/token` realm, and tokens expire
/// after `lifetime` seconds. Request bodies (upload chunks) are forwarded, at most 40 MiB each:
/// a larger one (a monolithic upload of a big blob) closes the connection. Tag lists can be paged.
final class TokenGateway: Sendable {
    let port: Int
    private let channel: any Channel
    let state: Shared<State>

    struct State: Sendable {
        /// When each token was issued (seconds since 1970).
        var issued: [String: Double] = [:]
        var tokenRequests = 0
        /// Seconds a token is accepted for.
        var lifetime: Double
        /// After this many chunks (`PATCH`es) were accepted, the next one revokes every token
        /// issued so far, its own included, and is answered `401`: mid-upload, however long the
        /// chunks before it took (a token fetched since would be accepted otherwise).
        var revokeAfterPatches: Int?
        /// When set, every `PATCH` is answered `401`, whatever the token.
        var refuseChunks = false
        /// Seconds each forwarded `PATCH` is held before it is answered (a slow link).
        var chunkDelay: Double = 0
        /// When set, `tags/list` answers pages of this many tags with a `Link` to the next.
        var tagPageSize: Int?
        /// The referrers index answered for a subject digest (distribution 2.8 has no referrers API).
        var referrers: [String: String] = [:]
        /// `PATCH`es forwarded (with their `Content-Range`), and requests answered `401`.
        var patches: [String] = []
        var unauthorized: [String] = []
        /// Largest request body seen.
        var largestBody = 0
        var tagPagesServed = 0
        /// When set (`user:password`), the token endpoint issues tokens only for these Basic
        /// credentials and answers `401` to anyone else.
        var tokenCredentials: String?
        /// Blob `GET`s passed on to the registry.
        var blobGets = 0
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// - Parameter lifetime: seconds a token lives (announced as `expires_in`, and enforced).
    init(registry: String, lifetime: Double) async throws {
        let state = Shared(State(lifetime: lifetime))
        self.state = state
        channel = try await HTTPStub.serve(maximumBody: 40 << 20) { request, port in
            let head = request.head
            let now = Date().timeIntervalSince1970
            if head.uri.hasPrefix("/token") {
                if let required = state.withLock({ $0.tokenCredentials }),
                   head.headers.first(name: "authorization") != "Basic " + Data(required.utf8).base64EncodedString() {
                    return (.unauthorized, [("Content-Type", "application/json")],
                            Array("{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}".utf8))
                }
                let token = "tok-\(UUID().uuidString)"
                let lifetime = state.withLock { state in
                    state.tokenRequests += 1
                    state.issued[token] = now
                    return state.lifetime
                }
                return (.ok, [("Content-Type", "application/json")], Array("{\"token\":\"\(token)\",\"expires_in\":\(Int(lifetime))}".utf8))
            }
            let bearer = head.headers["authorization"].first.map { String($0.dropFirst("Bearer ".count)) } ?? ""
            let valid = state.withLock { state in
                state.largestBody = max(state.largestBody, request.body.count)
                if head.method == .PATCH, let after = state.revokeAfterPatches, state.patches.count >= after {
                    state.issued = [:]
                    state.revokeAfterPatches = nil
                }
                guard let issued = state.issued[bearer], now - issued < state.lifetime else { return false }
                return !(head.method == .PATCH && state.refuseChunks)
            }
            guard valid else {
                state.withLock { $0.unauthorized.append("\(head.method) \(head.uri.prefix(60))") }
                let name = head.uri.dropFirst(4).components(separatedBy: "/manifests/")[0].components(separatedBy: "/blobs/")[0]
                    .components(separatedBy: "/tags/")[0]
                let challenge = "Bearer realm=\"http://127.0.0.1:\(port)/token\",service=\"gateway\",scope=\"repository:\(name):pull,push\""
                return (.unauthorized, [("WWW-Authenticate", challenge), ("Content-Type", "application/json")],
                        Array("{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"token expired\"}]}".utf8))
            }
            if head.method == .GET, head.uri.contains("/referrers/"),
               let index = state.withLock({ $0.referrers[String(head.uri.split(separator: "/").last ?? "")] }) {
                return (.ok, [("Content-Type", "application/vnd.oci.image.index.v1+json")], Array(index.utf8))
            }
            if head.method == .GET, head.uri.contains("/tags/list"), let size = state.withLock({ $0.tagPageSize }) {
                return try await Self.tagPage(registry: registry, uri: head.uri, size: size, state: state)
            }
            if head.method == .GET, head.uri.contains("/blobs/sha256:") { state.withLock { $0.blobGets += 1 } }
            let answer = try await HTTPStub.forward(request, to: registry, as: "http://127.0.0.1:\(port)")
            if head.method == .PATCH, case let delay = state.withLock({ $0.chunkDelay }), delay > 0 {
                try await Task.sleep(for: .seconds(delay))
            }
            if head.method == .PATCH, answer.0 == .accepted {
                state.withLock { $0.patches.append(head.headers["content-range"].first ?? "") }
            }
            return answer
        }
        port = channel.localAddress!.port!
    }

    /// One page of the registry's whole tag list, after `last`, `size` tags (or `n`), with a `Link`
    /// to the next page when more follow.
    private static func tagPage(registry: String, uri: String, size: Int,
                                state: Shared<State>) async throws -> (HTTPResponseStatus, [(String, String)], [UInt8]) {
        let path = String(uri.prefix { $0 != "?" })
        let answer = try await TestHTTP.shared.get(registry + path)
        guard answer.status == 200, let object = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any] else {
            return (HTTPResponseStatus(statusCode: answer.status), [("Content-Type", "application/json")], answer.body)
        }
        let query = URLComponents(string: uri)?.queryItems ?? []
        let last = query.first { $0.name == "last" }?.value
        let count = query.first { $0.name == "n" }?.value.flatMap(Int.init) ?? size
        let all = ((object["tags"] as? [String]) ?? []).sorted().filter { last == nil || $0 > last! }
        let page = Array(all.prefix(count))
        state.withLock { $0.tagPagesServed += 1 }
        var headers = [("Content-Type", "application/json")]
        if all.count > page.count, let end = page.last {
            headers.append(("Link", "<\(path)?n=\(count)&last=\(end)>; rel=\"next\""))
        }
        let body = try JSONSerialization.data(withJSONObject: ["name": object["name"] ?? "", "tags": page])
        return (.ok, headers, Array(body))
    }

    func close() { channel.close(promise: nil) }
}
