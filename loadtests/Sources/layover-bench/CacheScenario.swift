import Foundation
import LayoverTestSupport

/// Scenarios 3 to 5 of the suite: a CI fleet importing a BuildKit cache through each target,
/// with a counting relay between each target and the upstream. Fresh (cold) proxies are
/// started for it, so their peak RSS is that of this scenario.
struct CacheScenario {
    let clients: Int
    let parallel: Int
    let timeout: Int
    let layover: String
    /// Proxies given with `--target` (name, /v2 root): timed, their upstream bytes unknown.
    let others: [(name: String, registry: String)]

    func run(upstream: UpstreamRegistry, cache: SyntheticCache, sibling: SyntheticCache, report: Report) async throws {
        say("# cache import: \(clients) clients × (manifest + \(cache.blobs.count) blobs, \(parallel) at a time), "
            + "\(cache.bytes >> 20) MiB unique; upstream links unshaped")
        let storage = try TemporaryDirectory()
        defer { storage.remove() }
        let layoverRelay = try await Relay(upstreamPort: upstream.port)
        let proxyRelay = try await Relay(upstreamPort: upstream.port)
        let directRelay = try await Relay(upstreamPort: upstream.port)
        defer { for relay in [layoverRelay, proxyRelay, directRelay] { relay.close() } }
        let layoverProcess = try await LayoverProcess(upstreamURL: layoverRelay.url, storage: storage.path + "/store", binary: layover)
        defer { layoverProcess.stop(signal: SIGKILL) }
        let proxy = try await UpstreamRegistry(proxyOf: proxyRelay.url)
        defer { proxy.stop() }

        let targets: [(name: String, base: String, relay: Relay, pid: Int32?)] = [
            ("layover", "\(layoverProcess.url)/v2/up", layoverRelay, layoverProcess.process!.process.processIdentifier),
            ("registry-proxy", "\(proxy.url)/v2", proxyRelay, proxy.processIdentifier),
            ("upstream", "\(directRelay.url)/v2", directRelay, nil),
        ]
        for other in others {
            let cold = await CacheImport.fleet(cache, from: other.registry, clients: clients, parallel: parallel, timeout: timeout)
            report.add(other.name, "cache-cold-fleet-seconds", cold.seconds, "s")
            report.add(other.name, "cache-cold-fleet-complete", Double(cold.complete), "clients of \(clients)")
            let warm = await CacheImport.fleet(cache, from: other.registry, clients: clients, parallel: parallel, timeout: timeout)
            report.add(other.name, "cache-warm-fleet-seconds", warm.seconds, "s")
        }
        let unique = Double(cache.bytes + cache.manifest.count)
        for target in targets {
            let before = target.relay.bytesFromUpstream
            let cold = await CacheImport.fleet(cache, from: target.base, clients: clients, parallel: parallel, timeout: timeout)
            let moved = Double(target.relay.bytesFromUpstream - before)
            report.add(target.name, "cache-cold-fleet-seconds", cold.seconds, "s")
            report.add(target.name, "cache-cold-fleet-complete", Double(cold.complete), "clients of \(clients)")
            report.add(target.name, "cache-cold-upstream-per-unique", moved / unique, "x")
            if let pid = target.pid { report.add(target.name, "cache-peak-rss", ProcessReading.peakRSSMiB(pid), "MiB") }
        }
        // Let the proxies finish storing, then the same fleet again (warm) and one client on the sibling cache.
        try await Task.sleep(for: .seconds(2))
        for target in targets where target.pid != nil {
            var before = target.relay.bytesFromUpstream
            let warm = await CacheImport.fleet(cache, from: target.base, clients: clients, parallel: parallel, timeout: timeout)
            report.add(target.name, "cache-warm-fleet-seconds", warm.seconds, "s")
            report.add(target.name, "cache-warm-fleet-complete", Double(warm.complete), "clients of \(clients)")
            report.add(target.name, "cache-warm-upstream-bytes", Double(target.relay.bytesFromUpstream - before), "B")

            before = target.relay.bytesFromUpstream
            let newBytes = Double(sibling.blobs.filter { blob in !cache.blobs.contains { $0.digest == blob.digest } }
                .reduce(0) { $0 + $1.size } + sibling.manifest.count)
            _ = try await CacheImport.run(sibling, from: target.base, parallel: parallel, timeout: timeout)
            report.add(target.name, "cache-sibling-upstream-per-new", Double(target.relay.bytesFromUpstream - before) / newBytes, "x")
            if let pid = target.pid { report.add(target.name, "cache-peak-rss", ProcessReading.peakRSSMiB(pid), "MiB") }
        }
    }
}
