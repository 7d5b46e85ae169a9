import ArgumentParser
import Foundation
import LayoverTestSupport
import NIOHTTP1
import NIOPosix

/// `layover-bench`: Layover beside distribution's registry in proxy mode, nginx serving the same
/// files, and the upstream itself, on loopback, in one run, so that ratios are measured side by
/// side. Prints `target figure value unit` lines, a table, the bars with PASS or FAIL, and
/// (with `--json`) a JSON file of every figure.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "layover-bench",
                                                    abstract: "Benchmark Layover against distribution's registry (proxy mode), nginx and the upstream itself.")

    @Option(help: "The layover executable (a release build).")
    var layover = ".build/release/layover"

    @Option(name: .customLong("large-mib"), help: "Size of the large blob, MiB.")
    var largeMiB = 1024

    @Option(name: .customLong("herd-mib"), help: "Size of the herd blob, MiB.")
    var herdMiB = 256

    @Option(help: "Clients in the cold herd.")
    var herd = 32

    @Option(help: "Seconds per small-request run.")
    var seconds = 5

    @Option(help: "Connections for small requests.")
    var connections = 64

    @Option(help: "Rounds of small requests, the targets' order rotated each round (medians reported).")
    var rounds = 3

    @Option(name: .customLong("event-loops"),
            help: "Layover's event-loop threads in the cold, warm, small and tls scenarios (default: one per core, as shipped).")
    var eventLoops: Int?

    @Option(name: .customLong("nginx-workers"),
            help: "nginx's worker processes (1: one worker, as the bars were first measured; 2: one per core, like Layover's default event loops).")
    var nginxWorkers = 1

    @Option(name: .customLong("h1-generator"),
            help: "small: how the HTTP/1.1 load generator frames requests and answers: raw (prepared bytes, answers framed by Content-Length; little CPU per request) or codec (NIO's HTTP/1.1 client codec).")
    var h1Generator: ClosedLoopLoad.Framing = .raw

    @Option(name: .customLong("h2-connections"), help: "tls: HTTP/2 connections for small requests (h2load).")
    var h2Connections = 16

    @Option(name: .customLong("h2-streams"), help: "tls: requests in flight on each HTTP/2 connection.")
    var h2Streams = 4

    @Option(help: "Bandwidth of each proxy's link to the upstream, Mbit/s (the cold scenarios' bottleneck; 0: unshaped).")
    var linkMbit = 500

    @Option(help: "Seconds after which a cold-herd client is given up.")
    var herdTimeout = 90

    @Option(help: "Scenarios to run: cold, warm, small, tls, cache, push, synchronous, scale, fleet, buildkit (comma-separated; scale, fleet and buildkit only when named).")
    var only = "cold,warm,small,tls,cache,push,synchronous"

    @Option(name: .customLong("cache-layers-mib"), help: "Layer sizes of the synthetic BuildKit cache, MiB (comma-separated).")
    var cacheLayersMiB = SyntheticCache.defaultLayerMiB.map(String.init).joined(separator: ",")

    @Option(name: .customLong("cache-clients"), help: "CI clients importing the cache at once.")
    var cacheClients = 32

    @Option(name: .customLong("cache-parallel"), help: "Parallel blob downloads per importing client.")
    var cacheParallel = 4

    @Option(help: "Write every figure to this JSON file.")
    var json: String?

    @Option(name: .customLong("upstream-port"), help: "Port of the suite's upstream registry (fixed, so another proxy can be configured to use it).")
    var upstreamPort: Int?

    @Option(name: .customLong("target"), help: "Another proxy to measure, NAME=URL[@PID]: URL is its /v2 root for the suite's upstream (e.g. zot=http://127.0.0.1:8080/v2@1234; with PID, its CPU and RSS too).")
    var extraTargets: [String] = []

    @Option(name: .customLong("push-mib"), help: "Size of the pushed cache, MiB (20 layers).")
    var pushMiB = 500

    @Option(name: .customLong("sync-pushes"), help: "synchronous: blob pushes to each of indexSynchronous full and normal (a fourth as many image pushes).")
    var syncPushes = 400

    @Option(name: .customLong("fleet-rounds"), help: "fleet: times every setup runs, its order rotated each round (medians reported).")
    var fleetRounds = 1

    @Option(name: .customLong("fleet-setups"), help: "fleet: the setups to run (comma-separated names, e.g. layover-1-node,layover-3-hash-redirect); default: all.")
    var fleetSetups = ""

    @Option(name: .customLong("scale-sizes"), help: "scale: blobs in each seeded store (comma-separated).")
    var scaleSizes = "1000,100000,1000000"

    @Option(name: .customLong("scale-protected"), help: "scale: blobs pinned by pending jobs and held for manifests (half each), in stores larger than this.")
    var scaleProtected = 50_000

    @Option(name: .customLong("push-clients"), help: "scale: clients pushing 1 KiB blobs at once.")
    var pushClients = 4

    @Option(name: .customLong("scale-rounds"), help: "scale: rounds of load over the stores, in turn (medians reported).")
    var scaleRounds = 7

    @Option(name: .customLong("scale-seconds"), help: "scale: seconds of each GET and HEAD load in a round.")
    var scaleSeconds = 2

    @Option(name: .customLong("scale-push-seconds"), help: "scale: seconds of each push load in a round.")
    var scalePushSeconds = 8

    @Option(name: .customLong("scale-loads"), help: "scale: the loads of a round (comma-separated: manifest-get, blob-head, wide-manifest-get, wide-blob-head, push); default: all. One load alone, made longer, is what a profile of it needs.")
    var scaleLoads = ""

    /// The scenarios that need the seeded upstream, the proxies and nginx.
    static let suiteScenarios: Set<String> = ["cold", "warm", "small", "tls", "cache", "push"]

    func run() async throws {
        let report = Report(herdSize: herd)
        say("# layover-bench \(Date()) on \(ProcessInfo.processInfo.activeProcessorCount) cores")
        let scenarios = Set(only.split(separator: ",").map(String.init))
        if !scenarios.isDisjoint(with: Self.suiteScenarios) { try await runSuite(scenarios, report: report) }
        if scenarios.contains("synchronous") {
            try await SynchronousScenario(layover: layover, blobPushes: syncPushes, imagePushes: max(1, syncPushes / 4)).run(report: report)
        }
        if scenarios.contains("buildkit") {
            try await BuildKitScenario(layover: layover).run(report: report)
        }
        if scenarios.contains("fleet") {
            try await FleetScenario(layover: layover, clients: cacheClients, parallel: cacheParallel, timeout: herdTimeout * 3,
                                    layerMiB: cacheLayersMiB.split(separator: ",").compactMap { Int($0) }, rounds: fleetRounds,
                                    only: Set(fleetSetups.split(separator: ",").map(String.init)))
                .run(report: report)
        }
        if scenarios.contains("scale") {
            let loads = scaleLoads.isEmpty ? ScaleScenario.allLoads : Set(scaleLoads.split(separator: ",").map(String.init))
            guard loads.isSubset(of: ScaleScenario.allLoads) else {
                throw ValidationError("--scale-loads: unknown \(loads.subtracting(ScaleScenario.allLoads).sorted()); known: \(ScaleScenario.allLoads.sorted())")
            }
            try await ScaleScenario(layover: layover, sizes: scaleSizes.split(separator: ",").compactMap { Int($0) }, protect: scaleProtected,
                                    connections: connections, seconds: scaleSeconds, pushSeconds: scalePushSeconds, pushClients: pushClients, rounds: scaleRounds,
                                    loads: loads)
                .run(report: report)
        }
        report.printTable()
        report.printBars()
        if let json { try report.writeJSON(to: json) }
    }

    /// The scenarios against the seeded upstream: Layover beside the registry proxy, nginx and the upstream.
    func runSuite(_ scenarios: Set<String>, report: Report) async throws {
        let upstream = try await UpstreamRegistry(port: upstreamPort)
        say("# upstream registry on \(upstream.url)")
        defer { upstream.stop() }
        let seeder = Seeder(registry: upstream.url)
        say("# seeding upstream: \(largeMiB) MiB blob, 2 × \(herdMiB) MiB blobs, a small image")
        let large = try await seeder.pushBlob("bench/app", randomBytes(largeMiB << 20))
        let herdSingle = try await seeder.pushBlob("bench/app", randomBytes(herdMiB << 20))
        let herdShared = try await seeder.pushBlob("bench/app", randomBytes(herdMiB << 20))
        let image = try await seeder.pushImage("bench/app", tag: "v1", layerSizes: [4096])
        let layerMiB = cacheLayersMiB.split(separator: ",").compactMap { Int($0) }
        say("# seeding a BuildKit cache: \(layerMiB.count) layers, \(layerMiB.reduce(0, +)) MiB, and a sibling sharing half")
        let cache = try await SyntheticCache.seed(seeder, repository: "bench/cache", layerMiB: layerMiB)
        let sibling = try await SyntheticCache.seedSharingHalf(of: cache, seeder, repository: "bench/cache2")
        let cacheManifest = TestHTTP.digest(of: cache.manifest)

        say("# each proxy reaches the upstream through its own relay capped at \(linkMbit) Mbit/s")
        let shape: Relay.LinkShape = linkMbit > 0 ? .megabits(linkMbit) : .init()
        let relayForLayover = try await Relay(upstreamPort: upstream.port, shape: shape)
        let relayForRegistry = try await Relay(upstreamPort: upstream.port, shape: shape)
        let storage = try TemporaryDirectory()
        defer { storage.remove() }
        let serveArguments = eventLoops.map { ["--event-loops", String($0)] } ?? []
        say("# layover runs with \(eventLoops.map { "\($0) event loop(s)" } ?? "one event loop per core (as shipped)"); nginx with \(nginxWorkers) worker(s)")
        let layoverProcess = try await LayoverProcess(upstreamURL: relayForLayover.url, storage: storage.path + "/store",
                                                      extraArguments: serveArguments, binary: layover)
        defer { layoverProcess.stop(signal: SIGKILL) }
        let proxy = try await UpstreamRegistry(proxyOf: relayForRegistry.url)
        defer { proxy.stop() }

        var targets = [
            Target(name: "layover", registry: "\(layoverProcess.url)/v2/up", pid: layoverProcess.process!.process.processIdentifier,
                   relay: relayForLayover),
            Target(name: "registry-proxy", registry: "\(proxy.url)/v2", pid: proxy.processIdentifier!, relay: relayForRegistry),
        ]

        // The cold herd first, while both proxies are cold: one client, then the herd on another blob.
        for target in targets where scenarios.contains("cold") {
            try await coldHerd(target, single: herdSingle, shared: herdShared, report: report)
        }

        for text in extraTargets {
            guard let equals = text.firstIndex(of: "=") else { throw ValidationError("--target: expected NAME=URL[@PID], got \(text)") }
            let rest = text[text.index(after: equals)...]
            let parts = rest.split(separator: "@", maxSplits: 1)
            targets.append(Target(name: String(text[..<equals]), registry: String(parts[0]),
                                  pid: parts.count > 1 ? Int32(parts[1]) ?? 0 : 0, relay: nil))
        }

        // Warm the large blob, the cache manifest and the small blob in every proxy, then bring up nginx
        // on Layover's files and add the upstream itself.
        for target in targets {
            _ = try await Curl.download("\(target.base)/blobs/\(large)")
            _ = try await TestHTTP.shared.get("\(target.registry)/bench/cache/manifests/\(cacheManifest)",
                                              headers: [("Accept", "application/vnd.oci.image.manifest.v1+json")])
            _ = try await TestHTTP.shared.get("\(target.base)/blobs/\(image.layers[0].digest)")
        }
        let nginx = try await Nginx(blobRoot: storage.path + "/store/blobs/sha256", workers: nginxWorkers)
        defer { nginx.stop() }
        targets.append(Target(name: "nginx", registry: "http://127.0.0.1:\(nginx.port)/v2", pid: nginx.pid, relay: nil))
        targets.append(Target(name: "upstream", registry: "\(upstream.url)/v2", pid: upstream.processIdentifier!, relay: nil))

        if scenarios.contains("warm") {
            // Let the proxies finish storing what the warm-up fetched before measuring.
            try await Task.sleep(for: .seconds(3))
            try await warmLarge(targets, digest: large, report: report)
        }
        if scenarios.contains("small") {
            try await smallRequests(targets, manifest: cacheManifest, blob: image.layers[0].digest, report: report)
        }
        for target in targets where target.name != "upstream" && target.pid > 0 {
            report.add(target.name, "peak-rss", ProcessReading.peakRSSMiB(target.pid), "MiB")
        }
        if scenarios.contains("tls") {
            try await TLSScenario(layover: layover, smallRounds: rounds, seconds: seconds, connections: h2Connections, streams: h2Streams,
                                  serveArguments: serveArguments, nginxWorkers: nginxWorkers)
                .run(upstream: upstream, blob: herdShared, manifest: cacheManifest, report: report)
        }
        if scenarios.contains("cache") {
            try await CacheScenario(clients: cacheClients, parallel: cacheParallel, timeout: herdTimeout * 3, layover: layover,
                                    others: targets.filter { !["layover", "registry-proxy", "nginx", "upstream"].contains($0.name) }
                                        .map { ($0.name, $0.registry) })
                .run(upstream: upstream, cache: cache, sibling: sibling, report: report)
        }
        if scenarios.contains("push") {
            try await PushScenario(layers: 20, totalMiB: pushMiB, largeBlobMiB: largeMiB, layover: layover)
                .run(upstream: upstream, report: report)
        }
    }

    struct Target {
        var name: String
        /// `http://host:port/v2` plus the upstream prefix, if any.
        var registry: String
        var pid: Int32
        var relay: Relay?

        /// The benchmark repository's URL prefix.
        var base: String { "\(registry)/bench/app" }
    }

    /// Warm single-stream GETs of the large blob, 6 rounds with the targets interleaved and their
    /// order rotated each round (so that the machine's noise, and going first, fall on all of them
    /// alike): median MB/s, and the server's CPU per GiB.
    func warmLarge(_ targets: [Target], digest: String, report: Report) async throws {
        var speeds: [String: [Double]] = [:]
        var cpu: [String: Double] = [:]
        var bytes: [String: Int] = [:]
        for round in 0..<6 {
            for index in targets.indices {
                let target = targets[(index + round) % targets.count]
                let before = target.pid > 0 ? ProcessReading.cpuSeconds(target.pid) : 0
                let (count, seconds) = try await Curl.download("\(target.base)/blobs/\(digest)")
                if target.pid > 0 { cpu[target.name, default: 0] += ProcessReading.cpuSeconds(target.pid) - before }
                bytes[target.name, default: 0] += count
                speeds[target.name, default: []].append(Double(count) / seconds / 1e6)
            }
        }
        for target in targets {
            let sorted = speeds[target.name, default: []].sorted()
            report.add(target.name, "warm-large-get", (sorted[2] + sorted[3]) / 2, "MB/s")
            guard target.pid > 0 else { continue }
            report.add(target.name, "warm-large-cpu", cpu[target.name, default: 0] / (Double(bytes[target.name, default: 1]) / Double(1 << 30)), "CPU-s/GiB")
        }
    }

    /// Closed-loop small requests at `connections` connections: GET and HEAD of the cache
    /// manifest (by digest) and of the small blob, on every target in turn, `rounds` times with
    /// the targets' order rotated (so that the machine's noise falls on all of them alike), each
    /// run after a one-second warm-up; medians of the rounds.
    func smallRequests(_ targets: [Target], manifest: String, blob: String, report: Report) async throws {
        let requests: [(label: String, method: HTTPMethod, url: @Sendable (Target) -> String)] = [
            ("manifest-get", .GET, { "\($0.registry)/bench/cache/manifests/\(manifest)" }),
            ("manifest-head", .HEAD, { "\($0.registry)/bench/cache/manifests/\(manifest)" }),
            ("blob-get", .GET, { "\($0.base)/blobs/\(blob)" }),
            ("blob-head", .HEAD, { "\($0.base)/blobs/\(blob)" }),
        ]
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var results: [String: [ClosedLoopLoad.Result]] = [:]
        var cpuPerRequest: [String: [Double]] = [:]
        var generatorCPUPerRequest: [String: [Double]] = [:]
        for round in 0..<rounds {
            say("# small requests (\(h1Generator.rawValue) HTTP/1.1 generator), round \(round + 1) of \(rounds)")
            for index in targets.indices {
                let target = targets[(index + round) % targets.count]
                for request in requests {
                    let url = URL(string: request.url(target))!
                    _ = try await ClosedLoopLoad.run(host: url.host!, port: url.port!, method: request.method, path: url.path,
                                                     connections: connections, duration: .seconds(1), framing: h1Generator, group: group)
                    let before = (server: ProcessReading.cpuSeconds(target.pid), generator: ProcessReading.ownCPUSeconds(getpid()))
                    let measured = try await ClosedLoopLoad.run(host: url.host!, port: url.port!, method: request.method, path: url.path,
                                                                connections: connections, duration: .seconds(seconds), framing: h1Generator,
                                                                group: group)
                    let cpu = ProcessReading.cpuSeconds(target.pid) - before.server
                    let generatorCPU = ProcessReading.ownCPUSeconds(getpid()) - before.generator
                    results["\(target.name) \(request.label)", default: []].append(measured)
                    cpuPerRequest["\(target.name) \(request.label)", default: []].append(cpu / Double(max(measured.requests, 1)) * 1e6)
                    generatorCPUPerRequest["\(target.name) \(request.label)", default: []]
                        .append(generatorCPU / Double(max(measured.requests, 1)) * 1e6)
                }
            }
        }
        try await group.shutdownGracefully()
        for target in targets {
            for request in requests {
                let measured = results["\(target.name) \(request.label)", default: []]
                report.add(target.name, "\(request.label)-rps", median(measured.map(\.requestsPerSecond)), "req/s")
                report.add(target.name, "\(request.label)-p50", median(measured.map { $0.percentile(0.50) }), "ms")
                report.add(target.name, "\(request.label)-p99", median(measured.map { $0.percentile(0.99) }), "ms")
                report.add(target.name, "\(request.label)-cpu", median(cpuPerRequest["\(target.name) \(request.label)", default: []]), "CPU-µs/req")
                report.add(target.name, "\(request.label)-generator-cpu",
                           median(generatorCPUPerRequest["\(target.name) \(request.label)", default: []]), "CPU-µs/req")
                let errors = measured.reduce(0) { $0 + $1.errors }
                if errors > 0 { report.add(target.name, "\(request.label)-errors", Double(errors), "count") }
            }
        }
    }

    /// One client on a cold blob, then `herd` clients at once on another cold blob of the same size.
    func coldHerd(_ target: Target, single: String, shared: String, report: Report) async throws {
        let blobBytes = Double(herdMiB << 20)
        let one = try await Curl.download("\(target.base)/blobs/\(single)")
        let before = target.relay?.bytesFromUpstream ?? 0
        let clock = ContinuousClock()
        let start = clock.now
        let complete = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<herd {
                group.addTask {
                    let result = try? await Curl.download("\(target.base)/blobs/\(shared)", maximumSeconds: herdTimeout)
                    return result?.bytes == herdMiB << 20
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let moved = Double((target.relay?.bytesFromUpstream ?? 0) - before)
        report.add(target.name, "cold-single-seconds", one.seconds, "s")
        report.add(target.name, "cold-herd-complete", Double(complete), "clients of \(herd)")
        report.add(target.name, "cold-herd-seconds", seconds, "s")
        report.add(target.name, "cold-herd-vs-single", seconds / one.seconds, "x")
        report.add(target.name, "cold-herd-upstream-per-blob", moved / blobBytes, "x")
    }
}

extension ClosedLoopLoad.Framing: ExpressibleByArgument {}
