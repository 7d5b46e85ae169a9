import Foundation
import LayoverTestSupport

/// The real `skopeo` client.
enum Skopeo {
    /// `skopeo copy` from a cleartext registry into a `dir:` layout; returns the directory's files.
    static func copy(_ reference: String, into directory: String) async throws -> [String: [UInt8]] {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo") else {
            throw TestFailure("skopeo is not installed: apt-get install skopeo")
        }
        let process = try TestProcess(executable: "/usr/bin/skopeo", arguments: [
            "copy", "--src-tls-verify=false", "docker://\(reference)", "dir:\(directory)",
        ])
        guard try await process.waitForExit() == 0 else {
            throw TestFailure("skopeo copy \(reference) failed: \(process.output)")
        }
        var files: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name != "version" {
            files[name] = [UInt8](FileManager.default.contents(atPath: "\(directory)/\(name)") ?? Data())
        }
        return files
    }
}

extension Skopeo {
    /// `skopeo copy` from a `dir:` layout to a cleartext registry.
    static func push(directory: String, to reference: String) async throws {
        let process = try TestProcess(executable: "/usr/bin/skopeo", arguments: [
            "copy", "--dest-tls-verify=false", "dir:\(directory)", "docker://\(reference)",
        ])
        guard try await process.waitForExit() == 0 else {
            throw TestFailure("skopeo copy to \(reference) failed: \(process.output)")
        }
    }
}
