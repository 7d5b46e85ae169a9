import Foundation

/// HAProxy (Debian's `haproxy`) in front of a fleet, with the configuration a test gives it.
public final class HAProxy: @unchecked Sendable {
    public let port: Int
    private let process: TestProcess
    private let directory: TemporaryDirectory

    /// Starts HAProxy on a free port with `backend` (the lines after `backend layover`), its
    /// servers `ports`, and waits until it answers `/v2/`.
    public convenience init(backend: [String], ports: [Int]) async throws {
        let port = try freePort()
        let servers = ports.enumerated().map { "    server node\($0.offset) 127.0.0.1:\($0.element) check inter 1s fall 2 rise 1" }
        let text = (["global", "    maxconn 512", "defaults", "    mode http", "    timeout connect 2s", "    timeout client 60s",
                     "    timeout server 60s", "frontend registry", "    bind 127.0.0.1:\(port)", "    default_backend layover",
                     "backend layover"] + backend.map { "    " + $0 } + servers).joined(separator: "\n") + "\n"
        try await self.init(configuration: text, port: port)
    }

    /// Starts HAProxy with deploy/haproxy/haproxy.cfg as shipped, but for its listening address
    /// (127.0.0.1 and a free port), its servers (`ports`, checked every second) and the path of
    /// deploy/haproxy/layover-owner.lua.
    public convenience init(deployedFor ports: [Int]) async throws {
        let port = try freePort()
        let deploy = Self.repository.appendingPathComponent("deploy/haproxy")
        let shipped = try String(contentsOf: deploy.appendingPathComponent("haproxy.cfg"), encoding: .utf8)
        let script = deploy.appendingPathComponent("layover-owner.lua").path
        var lines = shipped.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter {
            !$0.trimmingCharacters(in: .whitespaces).hasPrefix("server ")
        }.map { line in
            switch line.trimmingCharacters(in: .whitespaces) {
            case "bind :5000": "    bind 127.0.0.1:\(port)"
            case "lua-load /etc/haproxy/layover-owner.lua": "    lua-load \(script)"
            default: line
            }
        }
        lines += ports.enumerated().map { "    server layover-\($0.offset) 127.0.0.1:\($0.element) inter 1s" }
        try await self.init(configuration: lines.joined(separator: "\n") + "\n", port: port)
    }

    /// The repository root (this file is Tests/LayoverTestSupport/HAProxy.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Starts HAProxy with `text` as its configuration, listening on `port`.
    public init(configuration text: String, port: Int) async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy") else {
            throw TestFailure("haproxy is not installed: apt-get install haproxy")
        }
        self.port = port
        directory = try TemporaryDirectory()
        try text.write(toFile: directory.path + "/haproxy.cfg", atomically: true, encoding: .utf8)
        process = try TestProcess(executable: "/usr/sbin/haproxy", arguments: ["-db", "-f", directory.path + "/haproxy.cfg"])
        let deadline = ContinuousClock.now + .seconds(20)
        while (try? await TestHTTP.shared.get("http://127.0.0.1:\(port)/v2/"))?.status != 200 {
            guard ContinuousClock.now < deadline else {
                process.stop(signal: SIGKILL)
                throw TestFailure("haproxy did not answer /v2/ within 20 s: \(process.output)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    /// What HAProxy printed (its alerts and warnings), for a failure's message.
    public var output: String { process.output }

    public func stop() {
        process.stop(signal: SIGKILL)
        directory.remove()
    }
}
