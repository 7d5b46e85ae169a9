import ArgumentParser
import LayoverConfig
import LayoverHTTP
import LayoverIntercept
import Logging

extension Serve {
    /// Intercept mode's options from the configuration: the CA (which must exist: `layover ca
    /// init` makes it) and the hosts of the configured upstreams; nil when `intercept.listen` is unset.
    static func interceptOptions(_ configuration: LayoverConfiguration, logger: Logger) throws -> InterceptOptions? {
        let section = configuration.intercept
        guard section.listen != nil else { return nil }
        let paths = section.caPaths(storage: configuration.storage)
        let authority: CertificateAuthority
        do {
            authority = try CertificateAuthority.load(certificatePath: paths.certificate, keyPath: paths.key)
        } catch {
            throw ValidationError("intercept: \(error); make the CA with `layover ca init` (and have clients trust `layover ca cert`)")
        }
        var upstreams: [InterceptOptions.Upstream] = []
        for upstream in configuration.upstreams.values.sorted(by: { $0.name < $1.name }) {
            for (host, port) in InterceptOptions.hosts(name: upstream.name, url: upstream.url) {
                upstreams.append(InterceptOptions.Upstream(name: upstream.name, host: host, port: port))
            }
        }
        return InterceptOptions(upstreams: upstreams, leaves: LeafCertificates(authority: authority),
                                tunnel: section.tunnel == .allow, tunnelPorts: Set(section.tunnelPorts), logger: logger)
    }
}
