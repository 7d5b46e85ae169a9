import Foundation
import LayoverTestSupport
import NIOHTTP1
import NIOPosix

/// Issue 18's proof: per-request costs do not grow with the store. A store of each size in
/// `sizes` is seeded straight through `LayoverStore` (see `ScaleStore`) and served by the release
/// `layover` (upstream unreachable, pushes `local`). Measured for each: startup (spawn until
/// `/readyz` is 200, alone on the machine), RSS at start, then, after a pass that reads every
/// sampled manifest and HEADs every sampled blob once, `rounds` rounds of cached manifest GETs and
/// blob HEADs spread over the store (closed loop), each load on every store back to back, then,
/// once the disk is quiet, 1 KiB monolithic pushes from several clients into each store in turn
/// (each followed by a pause and a `sync`), the stores' order rotated each round (so that the
/// machine's noise falls on all alike; medians reported), and RSS after the load.
/// The GETs and HEADs go to as many distinct manifests and blobs as the smallest store holds
/// (the same working set at every size: what differs is only the store around it); stores with
/// room are also loaded over `wide` of each (`scale-wide-…`), compared among themselves.
/// The sizes larger than `protect` are seeded twice: as above, and with `protect` blobs pinned by
/// pending jobs and held for manifests to come. Every store is served at once and measured in the
/// same rounds. Each configuration is a column: `scale-1k`, `scale-1M`, `scale-1M-protected`, …
struct ScaleScenario {
    let layover: String
    let sizes: [Int]
    let protect: Int
    let connections: Int
    let seconds: Int
    /// Seconds of each push load: several of the index's checkpoints (one per 8,192 log frames,
    /// about 1,300 pushes), so that each window pays its share of them.
    let pushSeconds: Int
    let pushClients: Int
    let rounds: Int
    /// The loads of a round, by label (`allLoads`, or some of them to profile one).
    let loads: Set<String>
    static let allLoads: Set<String> = ["manifest-get", "blob-head", "wide-manifest-get", "wide-blob-head", "push"]
    /// Distinct manifests and blobs of the wide loads.
    let wide = 10_000

    /// A seeded store served by a running `layover`.
    final class Served {
        let name: String
        let store: ScaleStore
        let process: LayoverProcess
        var samples: [String: [Double]] = [:]

        init(name: String, store: ScaleStore, process: LayoverProcess) {
            self.name = name
            self.store = store
            self.process = process
        }

        var pid: Int32 { process.process!.process.processIdentifier }
    }

    func run(report: Report) async throws {
        let files = sizes.reduce(0, +) + sizes.filter { $0 > protect }.reduce(0, +)
        let volume = try await ScaleVolume(files: files, bytes: Int64(files) * 6144)
        var servers: [Served] = []
        do {
            try await run(in: volume.path, servers: &servers, report: report)
        } catch {
            for server in servers { server.process.stop(signal: SIGKILL) }
            await volume.remove()
            throw error
        }
        for server in servers { server.process.stop(signal: SIGTERM) }
        await volume.remove()
    }

    /// Every server started goes into `servers`, for the caller to stop before the stores go.
    private func run(in directory: String, servers: inout [Served], report: Report) async throws {
        // Each size once as seeded, and the sizes larger than `protect` once more, in a store of
        // their own, with `protect` blobs protected: every store is served at once and measured in
        // the same rounds as the smallest (the machine's speed drifts between groups of rounds).
        var stores: [(name: String, store: ScaleStore)] = []
        for size in sizes.sorted() {
            for protected in size > protect ? [false, true] : [false] {
                let name = "scale-\(Self.label(size))" + (protected ? "-protected" : "")
                var store = ScaleStore(root: "\(directory)/\(size)" + (protected ? "-protected" : ""), count: size)
                say("# scale: seeding \(size) blobs (every tenth a manifest) into \(store.root)")
                try await store.seed(narrow: sizes.min()!, wide: wide, protect: protected ? protect : 0)
                if protected { try await store.protect() }
                report.add(name, "scale-seed-rate", Double(size) / store.seedSeconds, "blobs/s")
                report.add(name, "scale-index-bytes-per-blob", Double(store.indexBytes) / Double(size), "B")
                stores.append((name, store))
            }
        }
        guard let smallest = stores.first else { return }
        Self.settle()
        let config = directory + "/layover.yaml"
        try "upstreams:\n  up:\n    url: http://127.0.0.1:9\n    push: local\n".write(toFile: config, atomically: true, encoding: .utf8)

        for (name, store) in stores {
            servers.append(try await serve(store, as: name, config: config, report: report))
        }
        try await measure(servers, report: report)

        // What memory each blob costs: RSS at start over the smallest store's, per blob more.
        let base = report.value(smallest.name, "scale-rss-at-start")
        for server in servers.dropFirst() where server.store.count > smallest.store.count {
            report.add(server.name, "scale-rss-per-blob",
                       (report.value(server.name, "scale-rss-at-start") - base) * 1_048_576 / Double(server.store.count - smallest.store.count), "B")
        }
        // The starts above follow a clean close (the index is trusted); after a crash the rows
        // are read, and every blob directory and file is compared with them beside serving: the
        // largest store, killed and started again, then left to finish that check.
        for server in servers.dropFirst() where server.store.count == sizes.max() && !server.name.hasSuffix("-protected") {
            server.process.stop(signal: SIGKILL)
            let (process, startup) = try await launch(server.store, as: server.name, config: config)
            report.add(server.name, "scale-startup-after-crash", startup, "s")
            report.add(server.name, "scale-startup-after-crash-cpu", ProcessReading.cpuSeconds(process.process!.process.processIdentifier), "CPU-s")
            let checked = try await process.process!.waitForLine(containing: "stored files checked after a crash", timeout: .seconds(600))
            say("# \(server.name): \(checked)")
            if let seconds = checked.split(separator: " ").first(where: { $0.hasPrefix("seconds=") }).flatMap({ Double($0.dropFirst(8)) }) {
                report.add(server.name, "scale-file-check-after-crash", seconds, "s")
            }
            process.stop(signal: SIGTERM)
        }
    }

    /// Starts `layover` on `store`; reports its startup time and RSS at start, then reads every
    /// sampled path once (the load measures what is cached, and repository links are known).
    private func serve(_ store: ScaleStore, as name: String, config: String, report: Report) async throws -> Served {
        let (process, startup) = try await launch(store, as: name, config: config)
        report.add(name, "scale-startup", startup, "s")
        let server = Served(name: name, store: store, process: process)
        report.add(name, "scale-startup-cpu", ProcessReading.cpuSeconds(server.pid), "CPU-s")
        report.add(name, "scale-rss-at-start", ProcessReading.rssMiB(server.pid), "MiB")
        let url = URL(string: process.url)!
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        for (method, paths) in [(HTTPMethod.GET, store.manifestPaths), (.HEAD, store.blobPaths),
                                (.GET, store.wideManifestPaths), (.HEAD, store.wideBlobPaths)] where !paths.isEmpty {
            let pass = try await ClosedLoopLoad.run(host: url.host!, port: url.port!, method: method, paths: paths, connections: connections,
                                                    duration: .seconds(600), once: true, group: group)
            if pass.errors > 0 { throw TestFailure("\(name): \(pass.errors) of \(paths.count) \(method) answers were errors") }
        }
        try await group.shutdownGracefully()
        return server
    }

    /// Writes back everything seeding left dirty, the loop device's backing file included: else
    /// the first fsyncs of the measured pushes wait for gigabytes of it (seen: pushes at 0.32x
    /// right after seeding, 0.83-0.97x a minute later on the same stores).
    private static func settle() {
        sync()
    }

    /// Starts `layover` on `store` and waits for `/readyz`; the seconds that took.
    private func launch(_ store: ScaleStore, as name: String, config: String) async throws -> (LayoverProcess, Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let process = try await LayoverProcess(upstreamURL: "http://127.0.0.1:9", storage: store.root,
                                               extraArguments: ["--config", config, "--max-bytes", "1TiB",
                                                                "--upstream", "\(ScaleStore.outage)=http://127.0.0.1:9"],
                                               binary: layover)
        while try await TestHTTP.shared.get("\(process.url)/readyz").status != 200 {
            guard clock.now - start < .seconds(120) else { throw TestFailure("\(name): /readyz not 200 after 120 s") }
            try await Task.sleep(for: .milliseconds(5))
        }
        let startup = ScaleStore.seconds(clock.now - start)
        if let opened = process.log.split(separator: "\n").first(where: { $0.contains("store opened") }) {
            say("# \(name): \(opened)")
        }
        return (process, startup)
    }

    /// `rounds` rounds over `servers` (order rotated each round): each GET and HEAD load on every
    /// server back to back (the figures compared are seconds apart, not a whole round's store
    /// apart: seen with one store's loads after another's, a store's wide GETs at 0.74x in a round
    /// where the machine slowed between the two, and 0.97-1.00x when that load ran alone), then
    /// each server's pushes; medians reported, then RSS.
    private func measure(_ servers: [Served], report: Report) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        for round in 0..<rounds {
            let order = servers.indices.map { servers[($0 + round) % servers.count] }
            for label in ["manifest-get", "blob-head", "wide-manifest-get", "wide-blob-head"] where loads.contains(label) {
                for server in order {
                    try await load(label, on: server, group: group)
                }
            }
            guard loads.contains("push") else { continue }
            for server in order {
                try await pushes(on: server)
            }
        }
        try await group.shutdownGracefully()
        for server in servers {
            for figure in ["scale-manifest-get-rps", "scale-manifest-get-p99", "scale-manifest-get-cpu",
                           "scale-blob-head-rps", "scale-blob-head-p99", "scale-blob-head-cpu",
                           "scale-wide-manifest-get-rps", "scale-wide-manifest-get-p99", "scale-wide-manifest-get-cpu",
                           "scale-wide-blob-head-rps", "scale-wide-blob-head-p99", "scale-wide-blob-head-cpu",
                           "scale-manifest-get-written", "scale-blob-head-written", "scale-wide-manifest-get-written", "scale-wide-blob-head-written",
                           "scale-quiet-cpu", "scale-quiet-written",
                           "scale-push-rate", "scale-push-p99", "scale-push-cpu", "scale-push-cpu-system", "scale-push-written"] {
                let samples = server.samples[figure, default: []]
                guard !samples.isEmpty else { continue }
                say("# \(server.name) \(figure) by round: " + samples.map { String(format: "%.1f", $0) }.joined(separator: " "))
                let values = samples.sorted()
                let unit = figure == "scale-quiet-cpu" ? "CPU-s" : figure == "scale-quiet-written" ? "KiB"
                    : figure.hasSuffix("-p99") ? "ms" : figure.hasSuffix("-cpu") || figure.hasSuffix("-cpu-system") ? "CPU-µs/req"
                    : figure == "scale-push-written" ? "KiB/push" : figure.hasSuffix("-written") ? "KiB/1k req"
                    : figure == "scale-push-rate" ? "pushes/s" : "req/s"
                report.add(server.name, figure, values[values.count / 2], unit)
            }
            for figure in ["scale-manifest-get-errors", "scale-blob-head-errors", "scale-wide-manifest-get-errors",
                           "scale-wide-blob-head-errors", "scale-push-errors"] {
                let errors = server.samples[figure, default: []].reduce(0, +)
                if errors > 0 { report.add(server.name, figure, errors, "count") }
            }
            report.add(server.name, "scale-rss", ProcessReading.rssMiB(server.pid), "MiB")
            report.add(server.name, "scale-peak-rss", ProcessReading.peakRSSMiB(server.pid), "MiB")
        }
    }

    /// One closed-loop GET or HEAD load (`label`) on `server`, its samples kept.
    private func load(_ label: String, on server: Served, group: MultiThreadedEventLoopGroup) async throws {
        let (method, paths): (HTTPMethod, [String]) = switch label {
        case "manifest-get": (.GET, server.store.manifestPaths)
        case "blob-head": (.HEAD, server.store.blobPaths)
        case "wide-manifest-get": (.GET, server.store.wideManifestPaths)
        default: (.HEAD, server.store.wideBlobPaths)
        }
        guard !paths.isEmpty else { return }
        let url = URL(string: server.process.url)!
        let (cpu, written) = (ProcessReading.cpuSeconds(server.pid), ProcessReading.writtenBytes(server.pid))
        let result = try await ClosedLoopLoad.run(host: url.host!, port: url.port!, method: method, paths: paths,
                                                  connections: connections, duration: .seconds(seconds), group: group)
        server.samples["scale-\(label)-cpu", default: []].append(
            (ProcessReading.cpuSeconds(server.pid) - cpu) * 1e6 / Double(max(1, result.requests)))
        server.samples["scale-\(label)-written", default: []].append(
            (ProcessReading.writtenBytes(server.pid) - written) / 1024 * 1000 / Double(max(1, result.requests)))
        server.samples["scale-\(label)-rps", default: []].append(result.requestsPerSecond)
        server.samples["scale-\(label)-p99", default: []].append(result.percentile(0.99))
        server.samples["scale-\(label)-errors", default: []].append(Double(result.errors))
    }

    /// `server`'s push load, after a quiet wait, its samples kept.
    private func pushes(on server: Served) async throws {
        // Pushes are fsync-bound, and every server shares the volume: wait out the recency
        // flush (every 5 s) that the loads above left in this and the other servers (the
        // large stores' wide loads touch 20,000 blobs, the 1k store's 1,000), and write it
        // back, so that each push load meets a quiet disk. Seen without this: pushes of the
        // 1M store at 0.70-0.78x the 1k store's; with it, the same binary at 0.79-0.86x.
        let (quietCPU, quietWritten) = (ProcessReading.cpuSeconds(server.pid), ProcessReading.writtenBytes(server.pid))
        try await Task.sleep(for: .seconds(6))
        Self.settle()
        server.samples["scale-quiet-cpu", default: []].append(ProcessReading.cpuSeconds(server.pid) - quietCPU)
        server.samples["scale-quiet-written", default: []].append((ProcessReading.writtenBytes(server.pid) - quietWritten) / 1024)
        let (cpu, written) = (ProcessReading.cpuSeconds(server.pid), ProcessReading.writtenBytes(server.pid))
        let system = ProcessReading.systemCPUSeconds(server.pid)
        let pushes = try await PushLoad.run(base: "\(server.process.url)/v2/up/scale/pushed", clients: pushClients, seconds: pushSeconds)
        let count = max(1, pushes.perSecond * Double(pushSeconds))
        server.samples["scale-push-cpu", default: []].append((ProcessReading.cpuSeconds(server.pid) - cpu) * 1e6 / count)
        server.samples["scale-push-cpu-system", default: []].append((ProcessReading.systemCPUSeconds(server.pid) - system) * 1e6 / count)
        server.samples["scale-push-written", default: []].append((ProcessReading.writtenBytes(server.pid) - written) / 1024 / count)
        server.samples["scale-push-rate", default: []].append(pushes.perSecond)
        server.samples["scale-push-p99", default: []].append(pushes.p99)
        server.samples["scale-push-errors", default: []].append(Double(pushes.errors))
        // And the next loads meet a quiet machine: the index checkpoints and the file system's
        // write-back that a push load leaves behind (8 s of pushes) would otherwise run during
        // them, and hit whichever store comes next.
        try await Task.sleep(for: .seconds(3))
        Self.settle()
    }

    static func label(_ size: Int) -> String {
        size >= 1_000_000 && size % 1_000_000 == 0 ? "\(size / 1_000_000)M"
            : size >= 1_000 && size % 1_000 == 0 ? "\(size / 1_000)k" : "\(size)"
    }
}

/// `clients` pushers, each sending 1 KiB blobs of fresh random bytes as single
/// `POST ?digest=` requests (monolithic uploads) one after the other for `seconds`.
enum PushLoad {
    struct Result {
        var perSecond: Double
        var p50: Double
        var p99: Double
        var errors: Int
    }

    static func run(base: String, clients: Int, seconds: Int, size: Int = 1024) async throws -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .seconds(seconds)
        let outcomes = await withTaskGroup(of: ([Double], Int).self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var times: [Double] = []
                    var errors = 0
                    while clock.now < deadline {
                        let bytes = freshBytes(size)
                        let sent = clock.now
                        let answer = try? await TestHTTP.shared.send(.POST, "\(base)/blobs/uploads/?digest=\(TestHTTP.digest(of: bytes))",
                                                                     headers: [("Content-Type", "application/octet-stream")], body: bytes)
                        if answer?.status == 201 { times.append(ScaleStore.seconds(clock.now - sent) * 1000) } else { errors += 1 }
                    }
                    return (times, errors)
                }
            }
            return await group.reduce(into: ([Double](), 0)) { $0.0 += $1.0; $0.1 += $1.1 }
        }
        let elapsed = ScaleStore.seconds(clock.now - start)
        let sorted = outcomes.0.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        return Result(perSecond: Double(sorted.count) / elapsed, p50: percentile(0.5), p99: percentile(0.99), errors: outcomes.1)
    }
}
