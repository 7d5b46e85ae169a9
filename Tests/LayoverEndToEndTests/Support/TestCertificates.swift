import Foundation
import LayoverTestSupport

/// A certificate authority made by the test with `openssl`, and server certificates it signs for
/// `127.0.0.1` and `localhost`. `certDirectory` holds `ca.crt` as skopeo's `--*-cert-dir` wants it.
struct TestCertificates {
    let directory: String
    var caPath: String { directory + "/ca.crt" }
    var certDirectory: String { directory + "/certs.d" }

    init(directory: String) async throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: certDirectory, withIntermediateDirectories: true)
        try await Self.openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Layover test CA",
                                "-keyout", directory + "/ca.key", "-out", caPath])
        try FileManager.default.copyItem(atPath: caPath, toPath: certDirectory + "/ca.crt")
    }

    /// Issues a server certificate named `name` (`name.pem`, `name.key`) with `serial`; returns
    /// the two paths.
    func issue(_ name: String, serial: Int) async throws -> (certificate: String, key: String) {
        let base = directory + "/" + name
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(toFile: base + ".ext", atomically: true, encoding: .utf8)
        try await Self.openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(name)",
                                "-keyout", base + ".key", "-out", base + ".csr"])
        try await Self.openssl(["x509", "-req", "-in", base + ".csr", "-CA", caPath, "-CAkey", directory + "/ca.key",
                                "-set_serial", String(serial), "-days", "2", "-extfile", base + ".ext", "-out", base + ".pem"])
        return (base + ".pem", base + ".key")
    }

    /// The serial number (decimal) of the certificate `127.0.0.1:port` presents to a new connection.
    static func servedSerial(port: Int) async throws -> Int {
        let shell = "openssl s_client -connect 127.0.0.1:\(port) -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial"
        let process = try TestProcess(executable: "/bin/sh", arguments: ["-c", shell])
        _ = try await process.waitForExit(timeout: .seconds(30))
        guard let hex = process.output.split(separator: "=").last?.trimmingCharacters(in: .whitespacesAndNewlines),
              let serial = Int(hex, radix: 16) else {
            throw TestFailure("no certificate served on \(port): \(process.output)")
        }
        return serial
    }

    private static func openssl(_ arguments: [String]) async throws {
        let process = try TestProcess(executable: "/usr/bin/openssl", arguments: arguments)
        guard try await process.waitForExit(timeout: .seconds(60)) == 0 else {
            throw TestFailure("openssl \(arguments.joined(separator: " ")) failed: \(process.output)")
        }
    }
}

/// The real `curl` client, for HTTP/2 (over TLS, or cleartext with prior knowledge).
enum Curl {
    struct Result {
        var status: Int
        var httpVersion: String
        var body: [UInt8]
        /// The answer's headers, names lower-cased.
        var headers: [String: String]
    }

    /// Runs curl with `arguments` and the URL; the body, status and protocol version it saw.
    static func fetch(_ url: String, _ arguments: [String] = [], in directory: String) async throws -> Result {
        let bodyPath = directory + "/curl-\(UUID().uuidString)"
        let headerPath = bodyPath + ".headers"
        defer {
            try? FileManager.default.removeItem(atPath: bodyPath)
            try? FileManager.default.removeItem(atPath: headerPath)
        }
        let process = try TestProcess(executable: "/usr/bin/curl", arguments: arguments + [
            "-sS", "-o", bodyPath, "-D", headerPath, "-w", "%{http_code} %{http_version}", url,
        ])
        guard try await process.waitForExit(timeout: .seconds(120)) == 0 else {
            throw TestFailure("curl \(arguments.joined(separator: " ")) \(url) failed: \(process.output)")
        }
        let fields = process.output.split(separator: "\n").last?.split(separator: " ") ?? []
        guard fields.count == 2, let status = Int(fields[0]) else { throw TestFailure("curl printed: \(process.output)") }
        var headers: [String: String] = [:]
        let headerText = (try? String(contentsOfFile: headerPath, encoding: .utf8)) ?? ""
        for line in headerText.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Result(status: status, httpVersion: String(fields[1]),
                      body: [UInt8](FileManager.default.contents(atPath: bodyPath) ?? Data()), headers: headers)
    }
}
