import Crypto
import Foundation
import LayoverLocks
import NIOSSL
import SwiftASN1
import X509

/// The TLS contexts Layover presents for intercepted registry hosts: a leaf certificate for the
/// exact host (in its subject alternative names), signed by the CA, made on first use and kept
/// until it nears its end. Short-lived, so a leaked leaf key is soon worthless.
///
/// Thread safety: one lock around the cache; a context is made outside it.
public final class LeafCertificates: Sendable {
    private let authority: CertificateAuthority
    private let cache = Locked<[String: Entry]>([:])
    private let clock: @Sendable () -> Date

    /// How long a leaf is valid.
    public static let lifetime: TimeInterval = 24 * 3600
    /// A cached leaf with less than this left is replaced.
    static let renewBefore: TimeInterval = 3600
    /// Hosts kept at most (intercept mode serves the configured upstreams only: a handful).
    static let capacity = 256

    struct Entry {
        var context: NIOSSLContext
        var certificate: Certificate
        var expires: Date
    }

    public init(authority: CertificateAuthority, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.authority = authority
        self.clock = clock
    }

    /// The server context for `host` (a DNS name or an IP address): TLS 1.2 and 1.3, ALPN
    /// `applicationProtocols`, the leaf and the CA as its chain.
    public func context(for host: String, applicationProtocols: [String]) throws(InterceptError) -> NIOSSLContext {
        try entry(for: host, applicationProtocols: applicationProtocols).context
    }

    /// The leaf certificate `host` is served with now (made when needed).
    public func certificate(for host: String) throws(InterceptError) -> Certificate {
        try entry(for: host, applicationProtocols: []).certificate
    }

    private func entry(for host: String, applicationProtocols: [String]) throws(InterceptError) -> Entry {
        let key = host.lowercased()
        let now = clock()
        if let cached = cache.withLock({ $0[key] }), cached.expires.timeIntervalSince(now) > Self.renewBefore { return cached }
        let made = try make(key, applicationProtocols: applicationProtocols, now: now)
        cache.withLock { cache in
            if cache.count >= Self.capacity, let oldest = cache.min(by: { $0.value.expires < $1.value.expires })?.key {
                cache[oldest] = nil
            }
            cache[key] = made
        }
        return made
    }

    private func make(_ host: String, applicationProtocols: [String], now: Date) throws(InterceptError) -> Entry {
        do {
            let key = P256.Signing.PrivateKey()
            let expires = now + Self.lifetime
            let publicKey = Certificate.PublicKey(key.publicKey)
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: now - 300, notValidAfter: expires,
                issuer: authority.certificate.subject,
                subject: try DistinguishedName { CommonName(host) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth])
                    SubjectAlternativeNames([Self.generalName(host)])
                    SubjectKeyIdentifier(hash: publicKey)
                    if let authorityKey = try? authority.certificate.extensions.subjectKeyIdentifier {
                        AuthorityKeyIdentifier(keyIdentifier: authorityKey.keyIdentifier)
                    }
                },
                issuerPrivateKey: authority.key)
            let chain = try [certificate, authority.certificate].map {
                try NIOSSLCertificate(bytes: Array($0.serializeAsPEM().pemString.utf8), format: .pem)
            }
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)))
            configuration.minimumTLSVersion = .tlsv12
            configuration.maximumTLSVersion = .tlsv13
            configuration.applicationProtocols = applicationProtocols
            return Entry(context: try NIOSSLContext(configuration: configuration), certificate: certificate, expires: expires)
        } catch {
            throw InterceptError("cannot make a certificate for \(host): \(error)")
        }
    }

    /// An IP address as an address, anything else as a DNS name.
    static func generalName(_ host: String) -> GeneralName {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return .ipAddress(ASN1OctetString(contentBytes: withUnsafeBytes(of: v4) { ArraySlice($0) }))
        }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var v6 = in6_addr()
        if inet_pton(AF_INET6, bare, &v6) == 1 {
            return .ipAddress(ASN1OctetString(contentBytes: withUnsafeBytes(of: v6) { ArraySlice($0) }))
        }
        return .dnsName(host)
    }
}
