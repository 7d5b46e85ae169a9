import Foundation
import LayoverTestSupport

/// One end-to-end setup: distribution's registry, a counting relay in front of it, and a
/// Layover process whose only upstream (`up`, also the default) is the relay.
final class Fixture: @unchecked Sendable {
    let registry: UpstreamRegistry
    let relay: Relay
    let storage: TemporaryDirectory
    let layover: LayoverProcess
    let seeder: Seeder

    init(layoverArguments: [String] = [], layoverEnvironment: [String: String] = [:]) async throws {
        registry = try await UpstreamRegistry()
        relay = try await Relay(upstreamPort: registry.port)
        storage = try TemporaryDirectory()
        layover = try await LayoverProcess(upstreamURL: relay.url, storage: storage.path + "/store", extraArguments: layoverArguments,
                                     environment: layoverEnvironment)
        seeder = Seeder(registry: registry.url)
    }

    /// `http://127.0.0.1:PORT/v2/up/<repository>` as a URL prefix.
    func url(_ repository: String) -> String { "\(layover.url)/v2/up/\(repository)" }

    /// Layover's port.
    var port: Int { layover.port }

    /// `127.0.0.1:PORT/up/<repository>` as skopeo names it.
    func reference(_ repository: String, _ tag: String) -> String {
        "\(layover.url.dropFirst("http://".count))/up/\(repository):\(tag)"
    }

    /// Blob files currently in Layover's store.
    func storedBlobs() -> Set<String> {
        Self.blobs(inStore: storage.path + "/store")
    }

    /// The digests of the blob files in the store at `store`.
    static func blobs(inStore store: String) -> Set<String> {
        let root = store + "/blobs/sha256"
        var found: Set<String> = []
        for prefix in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(prefix)")) ?? [] {
                found.insert("sha256:\(name)")
            }
        }
        return found
    }

    /// Flips one byte of a blob's file in Layover's store, as a failing disk would.
    func flipByte(of digest: String, at offset: UInt64 = 1000) throws {
        let path = storage.path + "/store/blobs/sha256/\(digest.dropFirst(7).prefix(2))/\(digest.dropFirst(7))"
        guard let handle = FileHandle(forUpdatingAtPath: path) else { throw TestFailure("no stored file for \(digest)") }
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        guard let byte = try handle.read(upToCount: 1)?.first else { throw TestFailure("\(digest) is shorter than \(offset + 1) bytes") }
        try handle.seek(toOffset: offset)
        try handle.write(contentsOf: [byte ^ 0xFF])
    }

    /// Layover's `/metrics`, parsed.
    func metrics() async throws -> PrometheusText {
        PrometheusText(try await TestHTTP.shared.get("\(layover.url)/metrics").text)
    }

    /// Files left in Layover's ingest directory.
    func ingestFiles() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: storage.path + "/store/ingest")) ?? []
    }

    /// Kills the processes, closes the relay and removes the store.
    func shutdown() {
        layover.stop(signal: SIGKILL)
        registry.stop()
        relay.close()
        storage.remove()
    }
}
