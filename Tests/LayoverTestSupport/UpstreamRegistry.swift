import Foundation

/// distribution's registry (Debian's `docker-registry`) on 127.0.0.1 and a free port, storing
/// under a temporary directory: the real upstream every end-to-end test pulls from, or, with
/// `proxyOf`, a pull-through cache of another registry (the usual alternative to Layover).
public final class UpstreamRegistry: @unchecked Sendable {
    public let port: Int
    public let directory: TemporaryDirectory
    private var process: TestProcess?

    public var url: String { "http://127.0.0.1:\(port)" }

    /// - Parameters:
    ///   - proxyOf: when given, the registry runs in proxy mode in front of this URL.
    ///   - port: the port to listen on; a free one when nil.
    public init(proxyOf remote: String? = nil, port fixedPort: Int? = nil) async throws {
        guard let binary = ["/usr/bin/docker-registry", "/usr/local/bin/registry", "/usr/bin/registry"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestFailure("distribution's registry is not installed: apt-get install docker-registry")
        }
        directory = try TemporaryDirectory()
        port = try fixedPort ?? freePort()
        let config = """
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: \(directory.path)/data
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:\(port)
            """ + (remote.map { "\nproxy:\n  remoteurl: \($0)\n" } ?? "")
        let configPath = directory.path + "/config.yml"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        self.binary = binary
        self.configPath = configPath
        try await start()
    }

    private let binary: String
    private let configPath: String

    /// Starts (or restarts) the registry and waits until `/v2/` answers.
    public func start() async throws {
        process = try TestProcess(executable: binary, arguments: ["serve", configPath])
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(20)
        while clock.now < deadline {
            if (try? await TestHTTP.shared.get("\(url)/v2/").status) == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("registry did not start: \(process?.output ?? "")")
    }

    public func stop() {
        process?.send(signal: SIGCONT)
        process?.stop(signal: SIGKILL)
    }

    /// Freezes the registry (SIGSTOP): connections stay open and nothing answers, as a stalled
    /// upstream does. `resume` thaws it.
    public func pause() { process?.send(signal: SIGSTOP) }

    public func resume() { process?.send(signal: SIGCONT) }

    /// The running process's id, for CPU and memory readings.
    public var processIdentifier: Int32? { process?.process.processIdentifier }

    /// The file holding a blob's bytes in the registry's storage (to corrupt it on purpose).
    public func blobDataPath(_ digest: String) -> String {
        let hex = digest.split(separator: ":")[1]
        return "\(directory.path)/data/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }

    /// The link file by which the registry's manifest store finds `digest` in `repository`
    /// (`_manifests/revisions`); it looks there before the repository's blob links.
    public func manifestLinkPath(_ repository: String, _ digest: String) -> String {
        let hex = digest.split(separator: ":")[1]
        return "\(directory.path)/data/docker/registry/v2/repositories/\(repository)/_manifests/revisions/sha256/\(hex)/link"
    }

    deinit {
        process?.stop(signal: SIGKILL)
        directory.remove()
    }
}
