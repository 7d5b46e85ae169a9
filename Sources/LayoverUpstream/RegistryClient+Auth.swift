import AsyncHTTPClient
import Foundation
import NIOCore

extension RegistryClient {
    /// The cache key of the `Authorization` value that answered a scope's challenge. Until a
    /// challenge was answered for a scope, its requests go out without credentials.
    func authorizationKey(scope: String) -> String { scope }

    /// Turns a challenge into an `Authorization` value, cached for the scope: a Bearer token from
    /// the realm until it expires, or Basic credentials for an hour.
    func answer(_ challenge: AuthChallenge, scope: String) async throws -> String {
        switch challenge.scheme {
        case "basic":
            guard let credentials = upstream.credentials else {
                throw UpstreamError.unauthorized("upstream wants Basic credentials and none are configured")
            }
            let value = "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
            tokens.store(value, for: authorizationKey(scope: scope), lifetime: 3600)
            return value
        case "bearer":
            guard let realm = challenge.parameters["realm"] else {
                throw UpstreamError.protocolViolation("Bearer challenge without realm")
            }
            let token = try await fetchToken(realm: realm, service: challenge.parameters["service"],
                                             scope: challenge.parameters["scope"] ?? scope)
            let value = "Bearer \(token.value)"
            tokens.store(value, for: authorizationKey(scope: scope), lifetime: token.lifetime)
            return value
        default:
            throw UpstreamError.unauthorized("unsupported auth scheme \(challenge.scheme)")
        }
    }

    private struct TokenAnswer: Decodable {
        var token: String?
        var access_token: String?
        var expires_in: Double?
    }

    private func fetchToken(realm: String, service: String?, scope: String) async throws -> (value: String, lifetime: Double) {
        var components = URLComponents(string: realm)
        var items = components?.queryItems ?? []
        if let service { items.append(URLQueryItem(name: "service", value: service)) }
        for part in scope.split(separator: " ") { items.append(URLQueryItem(name: "scope", value: String(part))) }
        components?.queryItems = items
        guard let url = components?.string else { throw UpstreamError.protocolViolation("bad token realm \(realm)") }
        var request = HTTPClientRequest(url: url)
        if let credentials = upstream.credentials {
            let basic = Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()
            request.headers.add(name: "Authorization", value: "Basic \(basic)")
        }
        let response = try await http.execute(request, timeout: .seconds(30), logger: logger)
        let body = try await response.body.collect(upTo: 1 << 20)
        switch response.status.code {
        case 200:
            break
        case 401, 403:
            throw UpstreamError.unauthorized("token endpoint refused the credentials (\(response.status.code))")
        case 429:
            throw UpstreamError.rateLimited(retryAfter: RetryAfter.seconds(response.headers.first(name: "retry-after")))
        default:
            throw UpstreamError.unavailable("token endpoint answered \(response.status.code)")
        }
        guard let answer = try? JSONDecoder().decode(TokenAnswer.self, from: Data(body.readableBytesView)),
              let token = answer.token ?? answer.access_token, !token.isEmpty
        else { throw UpstreamError.protocolViolation("token endpoint answered without a token") }
        return (token, max(answer.expires_in ?? 60, 1))
    }
}
