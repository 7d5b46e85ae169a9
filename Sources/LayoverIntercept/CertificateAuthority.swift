import Crypto
import Foundation
import SwiftASN1
import X509

/// Layover's own certificate authority for intercept mode: an ECDSA P-256 key and a self-signed
/// CA certificate. Clients trust its certificate; it signs the leaf certificates of the registry
/// hosts whose TLS Layover terminates. The key never leaves its file (mode 0600).
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    let key: Certificate.PrivateKey

    /// How long a new CA is valid.
    public static let lifetime: TimeInterval = 10 * 365 * 86_400

    /// A new CA named `commonName`, valid from an hour ago (clocks differ) for `lifetime`.
    public static func create(commonName: String = "Layover intercept CA", now: Date = Date()) throws -> CertificateAuthority {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let name = try DistinguishedName {
            OrganizationName("Layover")
            CommonName(commonName)
        }
        let publicKey = key.publicKey
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now - 3600, notValidAfter: now + lifetime, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: key)
        return CertificateAuthority(certificate: certificate, key: key)
    }

    /// The CA read from its PEM files; throws with the file and the reason when either is unusable
    /// or the key is not the certificate's.
    public static func load(certificatePath: String, keyPath: String) throws(InterceptError) -> CertificateAuthority {
        let certificate: Certificate
        let key: Certificate.PrivateKey
        do {
            certificate = try Certificate(pemEncoded: try String(contentsOfFile: certificatePath, encoding: .utf8))
        } catch {
            throw InterceptError("CA certificate \(certificatePath): \(error)")
        }
        do {
            key = try Certificate.PrivateKey(pemEncoded: try String(contentsOfFile: keyPath, encoding: .utf8))
        } catch {
            throw InterceptError("CA key \(keyPath): \(error) (an ECDSA P-256 key in PEM is expected)")
        }
        guard certificate.publicKey == key.publicKey else {
            throw InterceptError("CA key \(keyPath) does not belong to the certificate \(certificatePath)")
        }
        return CertificateAuthority(certificate: certificate, key: key)
    }

    /// The certificate in PEM, for clients to trust.
    public var certificatePEM: String {
        get throws { try certificate.serializeAsPEM().pemString }
    }

    /// Writes the certificate (mode 0644) and the key (mode 0600, created so: never readable by
    /// others, not even for a moment). Refuses to replace an existing file.
    public func save(certificatePath: String, keyPath: String) throws(InterceptError) {
        for path in [certificatePath, keyPath] where FileManager.default.fileExists(atPath: path) {
            throw InterceptError("\(path) exists; remove it first to make a new CA (clients trust the old one)")
        }
        do {
            try Self.create(keyPath, contents: try key.serializeAsPEM().pemString + "\n", mode: 0o600)
            try Self.create(certificatePath, contents: try certificatePEM + "\n", mode: 0o644)
        } catch let error as InterceptError {
            throw error
        } catch {
            throw InterceptError("cannot write the CA: \(error)")
        }
    }

    private static func create(_ path: String, contents: String, mode: mode_t) throws(InterceptError) {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw InterceptError("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var bytes = Array(contents.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { throw InterceptError("cannot write \(path): \(String(cString: strerror(errno)))") }
            bytes = bytes.dropFirst(written)
        }
        guard fsync(descriptor) == 0 else { throw InterceptError("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }
}

/// Why the CA or a leaf certificate could not be made or used.
public struct InterceptError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
