import AsyncHTTPClient
import Foundation
import LayoverMetrics
import LayoverWire
import Logging
import NIOCore
import NIOHTTP1

/// Talks to one upstream registry: token auth, redirects, retries, rate limits.
///
/// Thread safety: share one instance per upstream between all tasks; tokens are cached per scope.
public final class RegistryClient: Sendable {
    /// The upstream this client talks to.
    public let upstream: UpstreamConfiguration
    let http: HTTPClient
    let tokens: TokenCache
    let logger: Logger
    let retryPolicy: RetryPolicy
    /// How this upstream has been answering, for the admin status.
    public let health = UpstreamHealth()
    /// Marks the upstream down after consecutive failures, so requests fail at once meanwhile.
    public let breaker: CircuitBreaker
    /// A client's own `Authorization`, sent as it is on every request to the upstream's origin
    /// instead of Layover's credentials or tokens (intercept mode); nil for Layover's own.
    let clientAuthorization: String?

    /// - Parameters:
    ///   - http: a client configured without automatic redirects (this type follows them itself,
    ///     sending `Authorization` only to the upstream's own origin).
    ///   - clock: seconds since 1970, for token expiry.
    public init(
        upstream: UpstreamConfiguration,
        http: HTTPClient,
        retryPolicy: RetryPolicy = RetryPolicy(),
        breakerThreshold: Int = 3,
        breakerProbeInterval: Duration = .seconds(5),
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        logger: Logger = Logger(label: "layover.upstream"),
        clientAuthorization: String? = nil
    ) {
        self.clientAuthorization = clientAuthorization
        self.upstream = upstream
        self.http = http
        self.retryPolicy = retryPolicy
        self.tokens = TokenCache(clock: clock)
        self.breaker = CircuitBreaker(upstream: upstream.name, threshold: breakerThreshold,
                                      probeInterval: breakerProbeInterval, clock: clock)
        var logger = logger
        logger[metadataKey: "upstream"] = "\(upstream.name)"
        self.logger = logger
        Telemetry.registerUpstream(upstream.name)
    }

    /// Makes an `HTTPClient` suited to upstream traffic: no automatic redirects, bounded connect
    /// and idle-read timeouts. The connect timeout is short: a registry answers its SYN within
    /// milliseconds when it is up, and a request for an unreachable one must fail within 3 s.
    /// - Parameter idleTimeout: an answer that delivers no byte for this long fails (a blob
    ///   download then resumes from the byte reached).
    public static func makeHTTPClient(idleTimeout: Duration = .seconds(30)) -> HTTPClient {
        let idle = TimeAmount.nanoseconds(Int64(idleTimeout / .nanoseconds(1)))
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(2), read: idle))
        configuration.decompression = .disabled
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// One registry request, as the rest of the client builds them.
    struct Call: Sendable {
        var method: HTTPMethod
        var path: String
        var headers: [(String, String)] = []
        var scope: String
        var deadline: TimeAmount = .seconds(120)
        /// Makes the body afresh for each attempt (a stream cannot be sent twice).
        var body: (@Sendable () -> HTTPClientRequest.Body)? = nil
    }

    /// Sends `call` with auth, redirects and retries. The answer's body is the caller's to consume.
    /// 401 after authenticating, 429 and (after retries) 5xx are turned into `UpstreamError`s;
    /// other statuses are returned as they are.
    func send(_ call: Call) async throws(UpstreamError) -> HTTPClientResponse {
        try breaker.check()
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response = try await sendAuthenticated(call)
                switch response.status.code {
                case 429:
                    let retryAfter = RetryAfter.seconds(response.headers.first(name: "retry-after"))
                    await Self.drain(response)
                    if call.method.isIdempotent, attempt < retryPolicy.attempts,
                       let wait = retryAfter, Double(wait) <= retryPolicy.maximumRetryAfter {
                        try? await Task.sleep(for: .seconds(wait))
                        continue
                    }
                    throw UpstreamError.rateLimited(retryAfter: retryAfter)
                case 500, 502, 503, 504:
                    await Self.drain(response)
                    if call.method.isIdempotent, attempt < retryPolicy.attempts, !breaker.isOpen {
                        try? await Task.sleep(for: retryPolicy.backoff(attempt: attempt))
                        continue
                    }
                    throw UpstreamError.unavailable("upstream answered \(response.status.code)")
                default:
                    return response
                }
            } catch let error as UpstreamError {
                throw error
            } catch {
                if call.method.isIdempotent, attempt < retryPolicy.attempts, !Task.isCancelled,
                   !UnreachableError.matches(error), !breaker.isOpen {
                    logger.debug("upstream request failed, retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                    try? await Task.sleep(for: retryPolicy.backoff(attempt: attempt))
                    continue
                }
                throw UpstreamError.unavailable("\(error)")
            }
        }
    }

    /// One attempt: with a cached token if any; on 401 the challenge is answered once.
    ///
    /// Only the upstream's own challenge is answered. A `401` from a host a redirect led to (blob
    /// storage) is a failure, never a login: answering it would hand the upstream's credentials,
    /// or a token for it, to whoever that host is.
    private func sendAuthenticated(_ call: Call) async throws -> HTTPClientResponse {
        if let clientAuthorization {
            // A client's own credential: sent as it is; a refusal is the client's, not answered.
            let (response, url) = try await sendFollowingRedirects(call, authorization: clientAuthorization)
            guard response.status == .unauthorized else { return response }
            await Self.drain(response)
            try refuseForeignChallenge(from: url)
            throw UpstreamError.unauthorized("upstream refused the client's credential for \(call.scope)")
        }
        var authorization = tokens.token(for: authorizationKey(scope: call.scope))
        var (response, url) = try await sendFollowingRedirects(call, authorization: authorization)
        guard response.status == .unauthorized else { return response }
        await Self.drain(response)
        try refuseForeignChallenge(from: url)
        let challengeHeader = response.headers.first(name: "www-authenticate") ?? ""
        guard let challenge = AuthChallenge(header: challengeHeader) else {
            throw UpstreamError.unauthorized("upstream answered 401 without a challenge")
        }
        authorization = try await answer(challenge, scope: call.scope)
        (response, url) = try await sendFollowingRedirects(call, authorization: authorization)
        if response.status == .unauthorized {
            await Self.drain(response)
            try refuseForeignChallenge(from: url)
            throw UpstreamError.unauthorized("upstream refused the credentials for \(call.scope)")
        }
        return response
    }

    /// Throws when a `401` came from anywhere but the configured upstream's origin.
    private func refuseForeignChallenge(from url: String) throws(UpstreamError) {
        let origin = URLOrigin(url)
        guard origin != nil, origin == URLOrigin(upstream.url) else {
            throw .protocolViolation("redirect target \(origin?.description ?? url) answered 401; "
                + "the credentials of upstream \(upstream.name) are only given to \(upstream.url) and its token realm")
        }
    }

    /// Sends `call`, following up to five redirects. `authorization` goes only to the upstream's
    /// own origin. Returns the final answer and the URL that gave it.
    private func sendFollowingRedirects(_ call: Call, authorization: String?) async throws -> (HTTPClientResponse, url: String) {
        var url = call.path.hasPrefix("http://") || call.path.hasPrefix("https://") ? call.path : upstream.url + call.path
        let upstreamOrigin = URLOrigin(upstream.url)
        for _ in 0..<6 {
            var request = HTTPClientRequest(url: url)
            request.method = call.method
            for (name, value) in call.headers { request.headers.add(name: name, value: value) }
            if let authorization, upstreamOrigin != nil, URLOrigin(url) == upstreamOrigin {
                request.headers.replaceOrAdd(name: "Authorization", value: authorization)
            }
            if let body = call.body { request.body = body() }
            let response = try await execute(request, deadline: call.deadline)
            guard [301, 302, 303, 307, 308].contains(response.status.code),
                  let location = response.headers.first(name: "location") else { return (response, url) }
            await Self.drain(response)
            guard let next = URLResolver.resolve(location, against: url) else {
                throw UpstreamError.protocolViolation("redirect to an unusable Location: \(location)")
            }
            url = next
        }
        throw UpstreamError.protocolViolation("too many redirects")
    }

    /// One HTTP exchange, counted in the metrics and the upstream's health.
    private func execute(_ request: HTTPClientRequest, deadline: TimeAmount) async throws -> HTTPClientResponse {
        let started = ContinuousClock.now
        do {
            let response = try await http.execute(request, deadline: .now() + deadline, logger: logger)
            let status = Int(response.status.code)
            Telemetry.upstreamRequest(upstream.name, method: request.method.rawValue, status: status,
                                      seconds: Self.seconds(since: started))
            health.record(status: status)
            // No answer, or a gateway saying the registry behind it is gone, marks it down; a
            // 500 is one request's failure (a refused mount, say), not the upstream's.
            if [502, 503, 504].contains(status) { noteFailure("answered \(status)") } else { breaker.succeeded() }
            return response
        } catch {
            Telemetry.upstreamRequest(upstream.name, method: request.method.rawValue, status: nil,
                                      seconds: Self.seconds(since: started))
            health.record(status: nil, error: "\(error)")
            noteFailure("\(error)")
            throw error
        }
    }

    /// Counts a failure with the breaker; when it marks the upstream down, starts the probe.
    private func noteFailure(_ error: String) {
        guard breaker.failed(error) else { return }
        logger.warning("upstream marked down; requests for content only it has fail at once until it answers again",
                       metadata: ["error": "\(error)"])
        Telemetry.upstreamDown(upstream.name, down: true)
        Task { [self] in await probeUntilUp() }
    }

    /// While the upstream is marked down: one `GET /v2/` per probe interval, outside the breaker;
    /// any answer below `500` (a `401` too) marks it up.
    private func probeUntilUp() async {
        while breaker.isOpen {
            try? await Task.sleep(for: breaker.probeInterval)
            var request = HTTPClientRequest(url: upstream.url + "/v2/")
            request.method = .GET
            do {
                let response = try await http.execute(request, deadline: .now() + .seconds(3), logger: logger)
                await Self.drain(response)
                guard response.status.code < 500 else {
                    _ = breaker.failed("answered \(response.status.code)")
                    continue
                }
                breaker.succeeded()
            } catch {
                _ = breaker.failed("\(error)")
            }
        }
        logger.notice("upstream answers again")
        Telemetry.upstreamDown(upstream.name, down: false)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Reads and drops a small body so the connection can be reused.
    static func drain(_ response: HTTPClientResponse) async {
        _ = try? await response.body.collect(upTo: 1 << 20)
    }
}

extension HTTPMethod {
    var isIdempotent: Bool { self == .GET || self == .HEAD }
}
