import LayoverIntercept
import LayoverWire
import Logging

/// What the intercept listener (a forward proxy for `HTTPS_PROXY`) needs: which hosts are
/// configured upstreams (their TLS is terminated with a leaf from Layover's CA and their requests
/// served from the cache), and what happens to every other host.
public struct InterceptOptions: Sendable {
    /// A host clients CONNECT to that is one of the configured upstreams.
    public struct Upstream: Sendable, Equatable {
        /// The upstream's configured name (what its requests are resolved under).
        public var name: String
        /// The host and port clients name in `CONNECT` (and in absolute-form `GET`s).
        public var host: String
        public var port: Int
        public init(name: String, host: String, port: Int) {
            self.name = name
            self.host = host.lowercased()
            self.port = port
        }
    }

    public var upstreams: [Upstream]
    public var leaves: LeafCertificates
    /// Whether hosts that are not upstreams are tunnelled byte for byte (else refused `403`).
    public var tunnel: Bool
    /// The ports a tunnel may go to.
    public var tunnelPorts: Set<Int>
    public var logger: Logger

    public init(upstreams: [Upstream], leaves: LeafCertificates, tunnel: Bool, tunnelPorts: Set<Int>,
                logger: Logger = Logger(label: "layover.intercept")) {
        self.upstreams = upstreams
        self.leaves = leaves
        self.tunnel = tunnel
        self.tunnelPorts = tunnelPorts
        self.logger = logger
    }

    /// The upstream clients reach as `host:port`, if any.
    public func upstream(host: String, port: Int) -> Upstream? {
        let host = host.lowercased()
        return upstreams.first { $0.host == host && $0.port == port }
    }

    /// The hosts an upstream is reached under: its name (`host` or `host:port`, port 443 when
    /// none) and, for an `https` URL, the URL's host and port (Docker Hub's `docker.io` is fetched
    /// from, and CONNECTed to as, `registry-1.docker.io`).
    public static func hosts(name: String, url: String) -> [(host: String, port: Int)] {
        var hosts: [(String, Int)] = []
        if let parsed = HostPort.parse(name, defaultPort: 443) { hosts.append(parsed) }
        if url.lowercased().hasPrefix("https://") {
            let authority = url.dropFirst("https://".count).prefix { $0 != "/" }
            if let parsed = HostPort.parse(String(authority), defaultPort: 443), !hosts.contains(where: { $0 == parsed }) {
                hosts.append(parsed)
            }
        }
        return hosts
    }
}
