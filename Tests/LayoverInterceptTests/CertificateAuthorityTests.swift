import Foundation
import Testing
import X509
@testable import LayoverIntercept

/// The CA is made once, written with its key private, read back, and signs leaves that openssl
/// accepts for exactly their host.
@Suite("Intercept certificate authority")
struct CertificateAuthorityTests {
    final class Directory {
        let path = NSTemporaryDirectory() + "layover-ca-\(UUID().uuidString)"
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test("init writes the key with mode 0600 and the certificate 0644; load gives the same CA back; a second init is refused")
    func writeAndLoad() throws {
        let directory = Directory()
        let authority = try CertificateAuthority.create()
        try authority.save(certificatePath: directory.path + "/ca.crt", keyPath: directory.path + "/ca.key")
        let keyMode = try FileManager.default.attributesOfItem(atPath: directory.path + "/ca.key")[.posixPermissions] as? Int
        let certificateMode = try FileManager.default.attributesOfItem(atPath: directory.path + "/ca.crt")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        #expect(certificateMode == 0o644)
        let loaded = try CertificateAuthority.load(certificatePath: directory.path + "/ca.crt", keyPath: directory.path + "/ca.key")
        #expect(loaded.certificate == authority.certificate)
        #expect(throws: InterceptError.self) {
            try CertificateAuthority.create().save(certificatePath: directory.path + "/ca.crt", keyPath: directory.path + "/ca.key")
        }
        #expect(try CertificateAuthority.load(certificatePath: directory.path + "/ca.crt", keyPath: directory.path + "/ca.key").certificate
                == authority.certificate, "the refused init left the CA as it was")
    }

    @Test("a key that is not the certificate's is refused at load")
    func mismatchedKey() throws {
        let first = Directory(), second = Directory()
        try CertificateAuthority.create().save(certificatePath: first.path + "/ca.crt", keyPath: first.path + "/ca.key")
        try CertificateAuthority.create().save(certificatePath: second.path + "/ca.crt", keyPath: second.path + "/ca.key")
        #expect(throws: InterceptError.self) {
            try CertificateAuthority.load(certificatePath: first.path + "/ca.crt", keyPath: second.path + "/ca.key")
        }
    }

    @Test("leaves verify against the CA with openssl, for their exact host only (a name and an address)", arguments: ["registry.test", "127.0.0.1"])
    func leafVerifies(_ host: String) async throws {
        let directory = Directory()
        let authority = try CertificateAuthority.create()
        try authority.save(certificatePath: directory.path + "/ca.crt", keyPath: directory.path + "/ca.key")
        let leaves = LeafCertificates(authority: authority)
        let leaf = try leaves.certificate(for: host)
        try (try leaf.serializeAsPEM().pemString + "\n").write(toFile: directory.path + "/leaf.pem", atomically: true, encoding: .utf8)
        let option = host.first!.isNumber ? "-verify_ip" : "-verify_hostname"
        #expect(try Self.openssl(["verify", "-CAfile", directory.path + "/ca.crt", option, host, directory.path + "/leaf.pem"]).status == 0)
        let other = host.first!.isNumber ? "127.0.0.2" : "other.test"
        #expect(try Self.openssl(["verify", "-CAfile", directory.path + "/ca.crt", option, other, directory.path + "/leaf.pem"]).status != 0)
        #expect(leaf.notValidAfter.timeIntervalSince(leaf.notValidBefore) <= LeafCertificates.lifetime + 301)
        _ = try leaves.context(for: host, applicationProtocols: ["h2", "http/1.1"])
    }

    @Test("a leaf is reused until it nears its end, then replaced")
    func leavesAreCachedAndRenewed() throws {
        let now = LockedDate(Date())
        let leaves = LeafCertificates(authority: try CertificateAuthority.create(), clock: { now.value })
        let first = try leaves.certificate(for: "registry.test")
        #expect(try leaves.certificate(for: "REGISTRY.test") == first)
        now.value += LeafCertificates.lifetime - LeafCertificates.renewBefore + 1
        #expect(try leaves.certificate(for: "registry.test") != first)
    }

    static func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}

/// A date the test moves, read by the cache's clock.
final class LockedDate: @unchecked Sendable {
    private let lock = NSLock()
    private var date: Date
    init(_ date: Date) { self.date = date }
    var value: Date {
        get { lock.withLock { date } }
        set { lock.withLock { date = newValue } }
    }
}
