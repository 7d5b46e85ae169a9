import AsyncHTTPClient
import LayoverLocks
import Logging
import NIOCore
import NIOHTTP1

/// What a node knows about its peers: the members, the secret, and the one HTTP client it reaches
/// them with. Built by the executable for a fleet of more than one; nil everywhere else, where
/// Layover is exactly a single node.
///
/// Thread safety: immutable but for the membership, which guards itself.
public final class Fleet: Sendable {
    public let membership: Membership
    public let secret: FleetSecret
    /// Which peers answered lately, for the status page.
    public let health = MemberHealth()
    /// Blob downloads this node does not hold are redirected (`307`) to the digest's owner, so
    /// the bytes go from the owner to the client straight, not through this node or a balancer.
    public let redirectsBlobs: Bool
    let http: HTTPClient
    /// Asks members' `/readyz` for redirects: a client of its own, so that a probe never waits
    /// behind peer fills for a connection.
    let probeHTTP: HTTPClient
    /// Failed probes in a row, per member; two or more: no redirects to it.
    let probeFailures = Locked<[Member: Int]>([:])
    let logger: Logger

    /// A peer that has not connected within this is skipped (this node goes upstream itself).
    public static let connectTimeout: TimeAmount = .seconds(1)
    /// A peer that has not answered a blob request's head within this is skipped.
    public static let firstByteTimeout: TimeAmount = .seconds(5)
    /// A forwarded request without a body (a tag read) whose owner has not answered within this
    /// is served here instead. Longer than `firstByteTimeout`: the owner may be asking the upstream.
    public static let forwardedHeadTimeout: TimeAmount = .seconds(10)

    public init(membership: Membership, secret: FleetSecret, http: HTTPClient, redirectsBlobs: Bool = false,
                logger: Logger = Logger(label: "layover.fleet")) {
        self.membership = membership
        self.secret = secret
        self.redirectsBlobs = redirectsBlobs
        self.probeHTTP = Self.makeHTTPClient(idleTimeout: .seconds(10))
        self.http = http
        self.logger = logger
    }

    /// A client for peer requests: short connect timeout, no redirects, no decompression, and a
    /// read timeout so a peer that stalls mid-body fails the transfer (the fill then resumes upstream).
    public static func makeHTTPClient(idleTimeout: TimeAmount = .seconds(30)) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                     timeout: .init(connect: connectTimeout, read: idleTimeout))
        configuration.decompression = .disabled
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// A request to `member` marked as a peer's: the secret, and the hop that stops it going further.
    func peerRequest(_ member: Member, _ target: String, method: HTTPMethod = .GET) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: member.url + target)
        request.method = method
        request.headers.add(name: PeerHeaders.secret, value: secret.headerValue)
        request.headers.add(name: PeerHeaders.hop, value: "1")
        return request
    }
}

extension Fleet {
    /// Closes the peer connections.
    public func shutdown() async {
        try? await http.shutdown()
        try? await probeHTTP.shutdown()
    }
}
