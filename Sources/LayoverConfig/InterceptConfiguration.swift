import Foundation
import LayoverWire

/// The `intercept:` section (DESIGN §2): a forward-proxy listener (`HTTPS_PROXY` on the
/// builders) that terminates TLS for the configured upstreams with leaf certificates from
/// Layover's CA, so refs stay unchanged; other hosts are tunnelled or refused. Unset `listen`:
/// no intercept listener.
public struct InterceptConfiguration: Sendable, Equatable {
    /// `HOST:PORT` of the forward-proxy listener (`127.0.0.1:3128`).
    public var listen: String?
    /// Whether hosts that are not configured upstreams are tunnelled byte for byte (`allow`) or
    /// refused `403` (`deny`).
    public var tunnel: TunnelPolicy = .allow
    /// The ports a tunnel may go to.
    public var tunnelPorts: [Int] = [443]
    /// The CA certificate (PEM); default `<storage>/ca/ca.crt`.
    public var caCertificate: String?
    /// The CA key (PEM, ECDSA P-256, mode 0600); default `<storage>/ca/ca.key`.
    public var caKey: String?

    public enum TunnelPolicy: String, Sendable, Equatable {
        case allow, deny
    }

    public init() {}

    /// The CA files: configured, or under the store.
    public func caPaths(storage: String) -> (certificate: String, key: String) {
        (caCertificate ?? "\(storage)/ca/ca.crt", caKey ?? "\(storage)/ca/ca.key")
    }

    func validate() throws(ConfigurationError) {
        if let listen, HostPort.parse(listen) == nil {
            throw ConfigurationError("intercept.listen: expected HOST:PORT, got \(listen)")
        }
        for port in tunnelPorts where !(1...65535).contains(port) {
            throw ConfigurationError("intercept.tunnelPorts: \(port) is not a port")
        }
    }
}

extension LayoverConfiguration {
    /// The `intercept:` section as the file holds it.
    struct InterceptSection: Decodable {
        var listen: String?
        var tunnel: String?
        var tunnelPorts: [Int]?
        var ca: CASection?

        struct CASection: Decodable {
            var certificate: String?
            var key: String?
        }
    }

    /// Applies the `intercept:` section.
    mutating func apply(intercept section: InterceptSection) throws(ConfigurationError) {
        if let listen = section.listen { intercept.listen = listen }
        if let text = section.tunnel {
            guard let policy = InterceptConfiguration.TunnelPolicy(rawValue: text) else {
                throw ConfigurationError("intercept.tunnel: expected allow or deny, got \(text)")
            }
            intercept.tunnel = policy
        }
        if let ports = section.tunnelPorts { intercept.tunnelPorts = ports }
        if let certificate = section.ca?.certificate { intercept.caCertificate = certificate }
        if let key = section.ca?.key { intercept.caKey = key }
    }
}
