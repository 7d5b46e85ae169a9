import Crypto
import Foundation
import LayoverTestSupport

/// Files and clients for the client-authentication tests: an htpasswd file written by Apache's
/// own `htpasswd -B`, a config file with an `auth` section, skopeo with credentials.
enum AuthSetup {
    /// Writes an htpasswd file with `users` (name → password) using `htpasswd -B`.
    static func htpasswd(_ users: [(String, String)], at path: String) async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/htpasswd") else {
            throw TestFailure("htpasswd is not installed: apt-get install apache2-utils")
        }
        for (index, (user, password)) in users.enumerated() {
            let process = try TestProcess(executable: "/usr/bin/htpasswd",
                                          arguments: (index == 0 ? ["-cbB"] : ["-bB"]) + [path, user, password])
            guard try await process.waitForExit() == 0 else { throw TestFailure("htpasswd failed: \(process.output)") }
        }
    }

    /// The SHA-256 of a token, as the config file holds it.
    static func sha256(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// `Authorization: Basic …` for `user:password`.
    static func basic(_ user: String, _ password: String) -> (String, String) {
        ("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
    }

    /// Runs skopeo with `arguments`; returns its exit status and output.
    static func skopeo(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo") else {
            throw TestFailure("skopeo is not installed: apt-get install skopeo")
        }
        let process = try TestProcess(executable: "/usr/bin/skopeo", arguments: arguments)
        let status = try await process.waitForExit()
        return (status, process.output)
    }

    /// `skopeo copy` from a `dir:` layout to `reference`, with `--dest-creds` when given.
    static func push(_ directory: String, to reference: String, credentials: String?) async throws -> (status: Int32, output: String) {
        try await skopeo(["copy", "--dest-tls-verify=false"] + (credentials.map { ["--dest-creds", $0] } ?? [])
                         + ["dir:\(directory)", "docker://\(reference)"])
    }

    /// `skopeo copy` from `reference` into a `dir:` layout, with `--src-creds` when given.
    static func pull(_ reference: String, into directory: String, credentials: String?) async throws -> (status: Int32, output: String) {
        try await skopeo(["copy", "--src-tls-verify=false"] + (credentials.map { ["--src-creds", $0] } ?? [])
                         + ["docker://\(reference)", "dir:\(directory)"])
    }

    /// The repositories distribution's registry holds.
    static func catalog(_ registry: UpstreamRegistry) async throws -> [String] {
        let answer = try await TestHTTP.shared.get("\(registry.url)/v2/_catalog")
        let object = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
        return object?["repositories"] as? [String] ?? []
    }

    /// This machine's first IPv4 address that is not loopback, if it has one.
    static func nonLoopbackIPv4() -> String? {
        var addresses: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&addresses) == 0, let first = addresses else { return nil }
        defer { freeifaddrs(addresses) }
        for pointer in sequence(first: first, next: { $0.pointee.ifa_next }) {
            guard let address = pointer.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            var inet = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
            inet_ntop(AF_INET, &inet, &text, socklen_t(INET_ADDRSTRLEN))
            let string = String(cString: text)
            if !string.hasPrefix("127.") { return string }
        }
        return nil
    }
}
