import NIOSSL
import LayoverLocks

/// The front's certificate chain and key (PEM files), as a TLS context for new connections.
///
/// `reload()` reads the files again (cert-manager rotates them in place): connections accepted
/// afterwards get the new certificate; open ones keep the one they started with. TLS 1.2 and
/// 1.3 only; ALPN offers `h2` and `http/1.1`.
public final class TLSMaterial: Sendable {
    public let certificatePath: String
    public let keyPath: String
    private let current: Locked<NIOSSLContext>

    /// Loads both files; throws with the file and the reason when either is unusable.
    public init(certificatePath: String, keyPath: String) throws(TLSMaterialError) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        current = Locked(try Self.load(certificatePath: certificatePath, keyPath: keyPath))
    }

    /// The context a connection accepted now starts with.
    var context: NIOSSLContext { current.withLock { $0 } }

    /// Reads the files again; on failure the previous certificate stays in use and the error says why.
    public func reload() throws(TLSMaterialError) {
        let context = try Self.load(certificatePath: certificatePath, keyPath: keyPath)
        current.withLock { $0 = context }
    }

    /// The protocols offered in ALPN, most preferred first.
    static let applicationProtocols = ["h2", "http/1.1"]

    private static func load(certificatePath: String, keyPath: String) throws(TLSMaterialError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw TLSMaterialError("tls certificate \(certificatePath): \(error)")
        }
        guard !chain.isEmpty else { throw TLSMaterialError("tls certificate \(certificatePath): no certificate in the file") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw TLSMaterialError("tls key \(keyPath): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.applicationProtocols = applicationProtocols
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSMaterialError("tls certificate \(certificatePath) and key \(keyPath): \(error)")
        }
    }
}

/// Why the TLS certificate or key could not be used.
public struct TLSMaterialError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
