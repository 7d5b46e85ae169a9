import Foundation
import LayoverTestSupport

/// Three (or more) `layover` nodes in one fleet, their only upstream distribution's registry
/// behind one counting relay (so the fleet's upstream bytes are counted in one place), and
/// optionally HAProxy in front.
final class FleetRig: @unchecked Sendable {
    static let secret = "fleet-secret-for-the-tests-0123456789"
    let registry: UpstreamRegistry
    let relay: Relay
    let storage: TemporaryDirectory
    private(set) var ports: [Int]
    private(set) var nodes: [LayoverProcess] = []
    let seeder: Seeder

    /// Starts `count` nodes on fixed free ports, each told every member.
    init(count: Int = 3) async throws {
        registry = try await UpstreamRegistry()
        relay = try await Relay(upstreamPort: registry.port)
        storage = try TemporaryDirectory()
        seeder = Seeder(registry: registry.url)
        ports = try (0..<count).map { _ in try freePort() }
        for index in ports.indices { nodes.append(try await startNode(index)) }
    }

    /// Starts one more node that knows every member, itself included, while the others keep
    /// their list (a static configuration not yet rolled out); returns its index.
    func addNode() async throws -> Int {
        ports.append(try freePort())
        nodes.append(try await startNode(ports.count - 1))
        return ports.count - 1
    }

    /// Node `index`'s process, listening on its fixed port, store in its own directory.
    private func startNode(_ index: Int) async throws -> LayoverProcess {
        var arguments = ["--listen", "127.0.0.1:\(ports[index])", "--advertise", "http://127.0.0.1:\(ports[index])"]
        for port in ports { arguments += ["--peer", "http://127.0.0.1:\(port)"] }
        return try await LayoverProcess(upstreamURL: relay.url, storage: "\(storage.path)/node\(index)", extraArguments: arguments,
                                        environment: ["LAYOVER_FLEET_SECRET": Self.secret])
    }

    /// `http://127.0.0.1:PORT` of node `index`.
    func url(_ index: Int) -> String { "http://127.0.0.1:\(ports[index])" }

    /// Blob files in node `index`'s store.
    func storedBlobs(_ index: Int) -> Set<String> {
        Fixture.blobs(inStore: "\(storage.path)/node\(index)")
    }

    func shutdown() {
        for node in nodes { node.stop(signal: SIGKILL) }
        registry.stop()
        relay.close()
        storage.remove()
    }
}

/// HAProxy (Debian's `haproxy`) in front of a fleet, with the configuration a test gives it.
final class HAProxy: @unchecked Sendable {
    let port: Int
    private let process: TestProcess
    private let directory: TemporaryDirectory

    /// Starts HAProxy on a free port with `backend` (the lines after `backend layover`), its
    /// servers `ports`, and waits until it answers `/v2/`.
    convenience init(backend: [String], ports: [Int]) async throws {
        let port = try freePort()
        let servers = ports.enumerated().map { "    server node\($0.offset) 127.0.0.1:\($0.element) check inter 1s fall 2 rise 1" }
        let text = (["global", "    maxconn 512", "defaults", "    mode http", "    timeout connect 2s", "    timeout client 60s",
                     "    timeout server 60s", "frontend registry", "    bind 127.0.0.1:\(port)", "    default_backend layover",
                     "backend layover"] + backend.map { "    " + $0 } + servers).joined(separator: "\n") + "\n"
        try await self.init(configuration: text, port: port)
    }

    /// Starts HAProxy with deploy/haproxy/haproxy.cfg as shipped, but for its listening address
    /// (127.0.0.1 and a free port) and its servers (`ports`, checked every second).
    convenience init(deployedFor ports: [Int]) async throws {
        let port = try freePort()
        let shipped = try String(contentsOf: Self.repository.appendingPathComponent("deploy/haproxy/haproxy.cfg"), encoding: .utf8)
        var lines = shipped.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter {
            !$0.trimmingCharacters(in: .whitespaces).hasPrefix("server ")
        }.map { $0.trimmingCharacters(in: .whitespaces) == "bind :5000" ? "    bind 127.0.0.1:\(port)" : $0 }
        lines += ports.enumerated().map { "    server layover-\($0.offset) 127.0.0.1:\($0.element) inter 1s" }
        try await self.init(configuration: lines.joined(separator: "\n") + "\n", port: port)
    }

    /// The repository root (this file is Tests/LayoverEndToEndTests/Support/FleetRig.swift).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Starts HAProxy with `text` as its configuration, listening on `port`.
    init(configuration text: String, port: Int) async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy") else {
            throw TestFailure("haproxy is not installed: apt-get install haproxy")
        }
        self.port = port
        directory = try TemporaryDirectory()
        try text.write(toFile: directory.path + "/haproxy.cfg", atomically: true, encoding: .utf8)
        process = try TestProcess(executable: "/usr/sbin/haproxy", arguments: ["-db", "-f", directory.path + "/haproxy.cfg"])
        try await eventually(timeout: .seconds(20)) {
            (try? await TestHTTP.shared.get("http://127.0.0.1:\(self.port)/v2/"))?.status == 200
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() {
        process.stop(signal: SIGKILL)
        directory.remove()
    }
}

extension FleetRig {
    /// The integer after `"key" : ` in pretty-printed JSON (the admin status).
    static func number(_ key: String, in json: String) -> Int {
        guard let range = json.range(of: "\"\(key)\" : ") else { return 0 }
        return Int(json[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    /// Each node's forwarded-request count, from its status.
    func forwardedCounts() async throws -> [Int] {
        try await (0..<ports.count).asyncMap { node in
            Self.number("forwardedRequests", in: try await TestHTTP.shared.get("\(url(node))/_layover/status").text)
        }
    }
}

extension Range<Int> {
    /// The first element for which `predicate` holds, asked in order.
    func asyncFirst(_ predicate: (Int) async throws -> Bool) async throws -> Int? {
        for element in self where try await predicate(element) { return element }
        return nil
    }

    /// `transform` of every element, one after the other.
    func asyncMap<T>(_ transform: (Int) async throws -> T) async throws -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
