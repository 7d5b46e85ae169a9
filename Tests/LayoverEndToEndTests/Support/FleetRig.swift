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

    /// Extra `serve` arguments every node gets.
    let nodeArguments: [String]

    /// Starts `count` nodes on fixed free ports, each told every member.
    init(count: Int = 3, nodeArguments: [String] = []) async throws {
        self.nodeArguments = nodeArguments
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
        arguments += nodeArguments
        return try await LayoverProcess(upstreamURL: relay.url, storage: "\(storage.path)/node\(index)", extraArguments: arguments,
                                        environment: ["LAYOVER_FLEET_SECRET": Self.secret])
    }

    /// `http://127.0.0.1:PORT` of node `index`.
    func url(_ index: Int) -> String { "http://127.0.0.1:\(ports[index])" }

    /// Blob files in node `index`'s store.
    func storedBlobs(_ index: Int) -> Set<String> {
        Fixture.blobs(inStore: "\(storage.path)/node\(index)")
    }

    /// The end of every node's log, for a failure's message.
    var logTails: String {
        nodes.enumerated().map { "node \($0.offset) (running: \($0.element.process?.isRunning == true)):\n\($0.element.log.suffix(4000))" }
            .joined(separator: "\n")
    }

    func shutdown() {
        for node in nodes { node.stop(signal: SIGKILL) }
        registry.stop()
        relay.close()
        storage.remove()
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
