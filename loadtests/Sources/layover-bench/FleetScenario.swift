import Foundation
import LayoverTestSupport

/// Issue 12's proof: a CI fleet's cold import of the synthetic BuildKit cache (`clients` clients
/// at once, `parallel` downloads each) through three Layover nodes behind HAProxy, configured as
/// `deploy/haproxy/haproxy.cfg` ships it (each repository to Layover's owner of it, by its Lua
/// script) and round-robin, beside one Layover node
/// and three of distribution's registry proxies behind round-robin HAProxy (one proxy per node,
/// as people run them today), and one node behind HAProxy (what the balancer alone costs). Every setup starts cold, with its own counting relay to the
/// upstream: what crossed it over the cache's unique bytes, the wall time, and for the fleets the
/// requests nodes forwarded to each other (the cost of a balancer that does not hash). Each fleet
/// runs twice: blobs through the balancer, and blobs redirected to their owner (`--redirect-blobs`).
struct FleetScenario {
    let layover: String
    let clients: Int
    let parallel: Int
    let timeout: Int
    let layerMiB: [Int]
    /// Times every setup runs, in an order rotated each round; medians reported.
    let rounds: Int
    /// The setups to run (by name); empty: all.
    let only: Set<String>
    static let secret = "layover-bench-fleet-secret-0123456789"

    /// One cold setup: its `/v2` root (with the upstream prefix where it needs one), its fleet's
    /// nodes (none for a single node or the registry proxies), and how to stop it.
    struct Setup {
        var base: String
        var fleetNodes: [String] = []
        var stop: () -> Void
    }

    func run(report: Report) async throws {
        let upstream = try await UpstreamRegistry()
        defer { upstream.stop() }
        let cache = try await SyntheticCache.seed(Seeder(registry: upstream.url), repository: "bench/cache", layerMiB: layerMiB)
        say("# fleet: \(clients) clients × (manifest + \(cache.blobs.count) blobs, \(parallel) at a time), "
            + "\(cache.bytes >> 20) MiB unique, cold, through each setup")
        let unique = Double(cache.bytes + cache.manifest.count)
        let setups: [(name: String, start: (Relay, TemporaryDirectory) async throws -> Setup)] = [
            ("layover-1-node", { relay, storage in try await oneNode(relay, storage, behindHAProxy: false) }),
            ("layover-1-node-haproxy", { relay, storage in try await oneNode(relay, storage, behindHAProxy: true) }),
            ("layover-3-hash", { relay, storage in try await fleet(relay, storage, balancer: nil) }),
            ("layover-3-roundrobin", { relay, storage in try await fleet(relay, storage, balancer: ["balance roundrobin"]) }),
            ("layover-3-hash-redirect", { relay, storage in try await fleet(relay, storage, balancer: nil, redirectBlobs: true) }),
            ("layover-3-roundrobin-redirect", { relay, storage in
                try await fleet(relay, storage, balancer: ["balance roundrobin"], redirectBlobs: true)
            }),
            ("registry-proxy-3-roundrobin", { relay, _ in try await registryProxies(relay) }),
        ]
        let chosen = setups.filter { only.isEmpty || only.contains($0.name) }
        var figures: [String: [String: [Double]]] = [:]
        for round in 0..<rounds {
            if rounds > 1 { say("# fleet round \(round + 1) of \(rounds)") }
            for index in chosen.indices {
                let (name, start) = chosen[(index + round) % chosen.count]
                let relay = try await Relay(upstreamPort: upstream.port)
                let storage = try TemporaryDirectory()
                let setup = try await start(relay, storage)
                let cold = await CacheImport.fleet(cache, from: setup.base, clients: clients, parallel: parallel, timeout: timeout)
                var measured = ["fleet-cold-seconds": cold.seconds, "fleet-cold-complete": Double(cold.complete),
                                "fleet-upstream-per-unique": Double(relay.bytesFromUpstream) / unique]
                if !setup.fleetNodes.isEmpty {
                    measured["fleet-forwarded-requests"] = Double(await Self.total("forwardedRequests", setup.fleetNodes))
                    measured["fleet-blob-redirects"] = Double(await Self.total("blobRedirects", setup.fleetNodes))
                }
                if rounds > 1 { say("\(name) round \(round + 1): \(String(format: "%.1f", cold.seconds)) s") }
                for (figure, value) in measured { figures[name, default: [:]][figure, default: []].append(value) }
                setup.stop()
                relay.close()
                storage.remove()
            }
        }
        for (name, _) in chosen {
            for (figure, unit) in [("fleet-cold-seconds", "s"), ("fleet-cold-complete", "clients of \(clients)"),
                                   ("fleet-upstream-per-unique", "x"), ("fleet-forwarded-requests", "requests"),
                                   ("fleet-blob-redirects", "redirects")] {
                // Times and counts: medians; clients complete and upstream bytes: the worst round.
                guard let values = figures[name]?[figure] else { continue }
                let value = switch figure {
                case "fleet-cold-complete": values.min() ?? .nan
                case "fleet-upstream-per-unique": values.max() ?? .nan
                default: median(values)
                }
                report.add(name, figure, value, unit)
            }
        }
    }

    /// One node, alone or behind HAProxy (what the balancer itself costs on this machine).
    private func oneNode(_ relay: Relay, _ storage: TemporaryDirectory, behindHAProxy: Bool) async throws -> Setup {
        let node = try await LayoverProcess(upstreamURL: relay.url, storage: storage.path + "/store", binary: layover)
        guard behindHAProxy, let port = URL(string: node.url)?.port else {
            return Setup(base: "\(node.url)/v2/up", stop: { node.stop(signal: SIGKILL) })
        }
        let haproxy = try await HAProxy(backend: ["balance roundrobin"], ports: [port])
        return Setup(base: "\(haproxy.url)/v2/up", stop: {
            haproxy.stop()
            node.stop(signal: SIGKILL)
        })
    }

    /// Three nodes in one fleet behind HAProxy: `balancer` lines for its backend, or nil for the
    /// configuration `deploy/` ships (each repository to its owner); with `redirectBlobs`, blob
    /// downloads go from their owner to the client, past the balancer.
    private func fleet(_ relay: Relay, _ storage: TemporaryDirectory, balancer: [String]?, redirectBlobs: Bool = false) async throws -> Setup {
        let ports = try (0..<3).map { _ in try freePort() }
        var nodes: [LayoverProcess] = []
        for (index, port) in ports.enumerated() {
            var arguments = ["--listen", "127.0.0.1:\(port)", "--advertise", "http://127.0.0.1:\(port)"]
            for peer in ports { arguments += ["--peer", "http://127.0.0.1:\(peer)"] }
            if redirectBlobs { arguments.append("--redirect-blobs") }
            nodes.append(try await LayoverProcess(upstreamURL: relay.url, storage: "\(storage.path)/node\(index)", extraArguments: arguments,
                                                  environment: ["LAYOVER_FLEET_SECRET": Self.secret], binary: layover))
        }
        let haproxy: HAProxy
        if let balancer {
            haproxy = try await HAProxy(backend: balancer + ["option httpchk GET /readyz"], ports: ports)
        } else {
            haproxy = try await HAProxy(deployedFor: ports)
        }
        return Setup(base: "\(haproxy.url)/v2/up", fleetNodes: nodes.map(\.url), stop: {
            haproxy.stop()
            for node in nodes { node.stop(signal: SIGKILL) }
        })
    }

    /// The sum of one fleet figure (`forwardedRequests`, `blobRedirects`) over the nodes' status pages.
    static func total(_ key: String, _ nodes: [String]) async -> Int {
        var total = 0
        for node in nodes {
            guard let status = try? await TestHTTP.shared.get("\(node)/_layover/status").text,
                  let range = status.range(of: "\"\(key)\" : ") else { continue }
            total += Int(status[range.upperBound...].prefix { $0.isNumber }) ?? 0
        }
        return total
    }

    private func registryProxies(_ relay: Relay) async throws -> Setup {
        var proxies: [UpstreamRegistry] = []
        for _ in 0..<3 { proxies.append(try await UpstreamRegistry(proxyOf: relay.url)) }
        let haproxy = try await HAProxy(backend: ["balance roundrobin"], ports: proxies.map(\.port))
        return Setup(base: "\(haproxy.url)/v2", stop: {
            haproxy.stop()
            for proxy in proxies { proxy.stop() }
        })
    }
}
