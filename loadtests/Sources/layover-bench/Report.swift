import Foundation

/// Collects figures, prints each as it comes, and at the end a table (one column per target),
/// the bars with PASS or FAIL, and a JSON file.
final class Report {
    /// One measured figure.
    struct Figure: Codable {
        var target: String
        var figure: String
        var value: Double
        var unit: String
    }

    /// One bar checked.
    struct Bar: Codable {
        var bar: String
        var passed: Bool
        var detail: String
    }

    private var figures: [String: Double] = [:]
    private var ordered: [Figure] = []
    private var bars: [Bar] = []
    /// Clients in the cold herd.
    let herdSize: Int

    init(herdSize: Int) {
        self.herdSize = herdSize
    }

    func add(_ target: String, _ figure: String, _ value: Double, _ unit: String) {
        figures["\(target) \(figure)"] = value
        ordered.removeAll { $0.target == target && $0.figure == figure }
        ordered.append(Figure(target: target, figure: figure, value: value, unit: unit))
        say("\(target) \(figure) \(String(format: value < 10 ? "%.3f" : "%.1f", value)) \(unit)")
    }

    func value(_ target: String, _ figure: String) -> Double { figures["\(target) \(figure)"] ?? .nan }

    func printBars() {
        say("# bars")
        printFrontBars()
        if measured("warm-large-get") {
            let fasterPeer = max(value("registry-proxy", "warm-large-get"), value("nginx", "warm-large-get"))
            let leanerPeer = min(value("registry-proxy", "warm-large-cpu"), value("nginx", "warm-large-cpu"))
            check("warm large GET >= faster peer", value("layover", "warm-large-get") >= fasterPeer,
                  "\(format(value("layover", "warm-large-get"))) vs \(format(fasterPeer)) MB/s")
            check("warm large GET CPU/GiB < every peer", value("layover", "warm-large-cpu") < leanerPeer,
                  "\(format(value("layover", "warm-large-cpu"))) vs \(format(leanerPeer)) CPU-s/GiB")
        }
        for label in ["manifest-get", "manifest-head", "blob-get", "blob-head"] where measured("\(label)-rps") {
            let ratio = value("layover", "\(label)-rps") / value("registry-proxy", "\(label)-rps")
            check("\(label) >= 10x registry req/s", ratio >= 10, "\(format(ratio))x")
            check("\(label) p99 < 5 ms", value("layover", "\(label)-p99") < 5, "\(format(value("layover", "\(label)-p99"))) ms")
        }
        if measured("cold-herd-upstream-per-blob") {
            let perBlob = value("layover", "cold-herd-upstream-per-blob")
            check("cold herd upstream bytes / blob = 1.00", (perBlob * 100).rounded() / 100 == 1.0, format(perBlob))
            check("cold herd: every client got the whole blob", value("layover", "cold-herd-complete") == Double(herdSize),
                  "\(format(value("layover", "cold-herd-complete"))) of \(herdSize)")
            check("cold herd within 1.5x one client", value("layover", "cold-herd-vs-single") <= 1.5,
                  "\(format(value("layover", "cold-herd-vs-single")))x")
        }
        if measured("peak-rss") {
            check("peak RSS < 64 MiB", value("layover", "peak-rss") < 64, "\(format(value("layover", "peak-rss"))) MiB")
        }
        if measured("cache-cold-upstream-per-unique") {
            let cachePerUnique = value("layover", "cache-cold-upstream-per-unique")
            check("CI fleet cold cache import: upstream bytes / unique bytes <= 1.01", cachePerUnique <= 1.01, format(cachePerUnique))
            check("CI fleet cold cache import: every client complete", value("layover", "cache-cold-fleet-complete") == value("upstream", "cache-cold-fleet-complete"),
                  "\(format(value("layover", "cache-cold-fleet-complete"))) clients")
            check("warm cache import moves < 64 KiB upstream", value("layover", "cache-warm-upstream-bytes") < 65536,
                  "\(format(value("layover", "cache-warm-upstream-bytes"))) B")
            check("sibling cache: upstream bytes / new bytes <= 1.01", value("layover", "cache-sibling-upstream-per-new") <= 1.01,
                  format(value("layover", "cache-sibling-upstream-per-new")))
            check("peak RSS during the cache import < 64 MiB", value("layover", "cache-peak-rss") < 64,
                  "\(format(value("layover", "cache-peak-rss"))) MiB")
        }
        if measured("push-ack-speedup") {
            check("push acknowledged >= 5x sooner than direct", value("layover", "push-ack-speedup") >= 5,
                  "\(format(value("layover", "push-ack-speedup")))x")
            check("push: peak RSS < 64 MiB", value("layover", "push-peak-rss") < 64, "\(format(value("layover", "push-peak-rss"))) MiB")
        }
        if measured("scale-startup") { printScaleBars() }
        if measured("fleet-cold-seconds") { printFleetBars() }
        if measured("buildkit-wait-seconds") { printBuildKitBars() }
    }

    /// Issue 13's goals: a cold BuildKit-style import through Layover waits at least 2x less for
    /// its layers than one straight from the upstream, with the same upstream bytes; warm, at least
    /// 10x less; orphan-first eviction keeps the older image and the latest cache whole.
    private func printBuildKitBars() {
        let straight = value("upstream", "buildkit-wait-seconds")
        let cold = value("layover-cold", "buildkit-wait-seconds"), warm = value("layover-warm", "buildkit-wait-seconds")
        check("BuildKit import, cold with prefetch: waits >= 2x lower than from the upstream", straight / cold >= 2,
              "\(format(cold)) vs \(format(straight)) s (\(format(straight / cold))x)")
        check("BuildKit import, cold: upstream bytes / unique bytes <= 1.01", value("layover-cold", "buildkit-upstream-per-unique") <= 1.01,
              format(value("layover-cold", "buildkit-upstream-per-unique")))
        check("BuildKit import, warm: waits >= 10x lower than from the upstream", straight / warm >= 10,
              "\(format(warm)) vs \(format(straight)) s (\(format(straight / warm))x)")
        check("cache tag rewritten: the older image and the latest cache stay whole",
              value("layover", "buildkit-first-image-whole") == 1 && value("layover", "buildkit-latest-cache-whole") == 1,
              "\(format(value("layover", "buildkit-orphans-evicted"))) orphans evicted")
    }

    /// Issue 12's goals: three nodes fetch each unique byte from the upstream once (behind either
    /// balancer), every client completes, and the cold import takes at most 1.3x one node's time
    /// (one node alone; the time behind the same HAProxy is reported beside it).
    private func printFleetBars() {
        let single = value("layover-1-node", "fleet-cold-seconds")
        for fleet in ["layover-3-hash", "layover-3-roundrobin", "layover-3-hash-redirect", "layover-3-roundrobin-redirect"] where !value(fleet, "fleet-cold-seconds").isNaN {
            let perUnique = value(fleet, "fleet-upstream-per-unique")
            check("\(fleet): upstream bytes / unique bytes <= 1.01", perUnique <= 1.01, format(perUnique))
            check("\(fleet): every client complete", value(fleet, "fleet-cold-complete") == value("layover-1-node", "fleet-cold-complete"),
                  "\(format(value(fleet, "fleet-cold-complete"))) clients")
            let ratio = value(fleet, "fleet-cold-seconds") / single
            check("\(fleet): cold import within 1.3x one node's time", ratio <= 1.3,
                  "\(format(value(fleet, "fleet-cold-seconds"))) vs \(format(single)) s (\(format(ratio))x)")
        }
    }

    /// Issue 18's goals: every store's request and push rates within 20 % of the smallest
    /// store's (the wide loads: of the smallest store that has them); at the largest store,
    /// startup under 5 s (after a clean stop and after a crash) and RSS (peak included) under 256 MiB.
    private func printScaleBars() {
        let stores = targets(with: "scale-startup")
        guard let reference = stores.first, let largest = stores.last(where: { !$0.hasSuffix("-protected") }) else { return }
        for store in stores.dropFirst() {
            for (figure, unit) in [("scale-manifest-get-rps", "req/s"), ("scale-blob-head-rps", "req/s"), ("scale-push-rate", "pushes/s")] {
                let ratio = value(store, figure) / value(reference, figure)
                check("\(store) \(figure) within 20 % of \(reference)", ratio >= 0.8,
                      "\(format(value(store, figure))) vs \(format(value(reference, figure))) \(unit) (\(format(ratio))x)")
            }
        }
        let wide = targets(with: "scale-wide-blob-head-rps")
        for store in wide.dropFirst() {
            for figure in ["scale-wide-manifest-get-rps", "scale-wide-blob-head-rps"] {
                let ratio = value(store, figure) / value(wide[0], figure)
                check("\(store) \(figure) within 20 % of \(wide[0])", ratio >= 0.8,
                      "\(format(value(store, figure))) vs \(format(value(wide[0], figure))) req/s (\(format(ratio))x)")
            }
        }
        for store in stores where store.hasPrefix(largest) {
            check("\(store) startup < 5 s", value(store, "scale-startup") < 5, "\(format(value(store, "scale-startup"))) s")
            if targets(with: "scale-startup-after-crash").contains(store) {
                let seconds = value(store, "scale-startup-after-crash")
                check("\(store) startup after a crash < 5 s", seconds < 5, "\(format(seconds)) s")
            }
            check("\(store) RSS after the load < 256 MiB", value(store, "scale-rss") < 256, "\(format(value(store, "scale-rss"))) MiB")
            check("\(store) peak RSS < 256 MiB", value(store, "scale-peak-rss") < 256, "\(format(value(store, "scale-peak-rss"))) MiB")
        }
    }

    /// Whether any target has `figure`.
    private func measured(_ figure: String) -> Bool { ordered.contains { $0.figure == figure } }

    /// Targets with `figure`, in the order they were first reported.
    private func targets(with figure: String) -> [String] { ordered.filter { $0.figure == figure }.map(\.target) }

    /// Issue 9's bars, against nginx serving the same bytes: cleartext small requests (at least
    /// half of nginx's req/s, p99 within 1.5x nginx's); over TLS, the warm large GET (at least
    /// 0.8x nginx's throughput, HTTP/1.1 and HTTP/2), small GETs over HTTP/2 (at least half of
    /// nginx's req/s, authentication off and on; authenticated within 20 % of anonymous), and
    /// the TLS servers' peak RSS under 64 MiB.
    private func printFrontBars() {
        for label in ["manifest-get", "manifest-head", "blob-get", "blob-head"] where !value("nginx", "\(label)-rps").isNaN {
            atLeast("\(label) >= 0.5x nginx req/s", value("layover", "\(label)-rps"), 0.5, of: value("nginx", "\(label)-rps"), "req/s")
            let p99 = (layover: value("layover", "\(label)-p99"), nginx: value("nginx", "\(label)-p99"))
            check("\(label) p99 <= 1.5x nginx", p99.layover <= 1.5 * p99.nginx,
                  "\(format(p99.layover)) vs \(format(p99.nginx)) ms (\(format(p99.layover / p99.nginx))x)")
        }
        guard !value("nginx", "tls-h1-large-get").isNaN else { return }
        for figure in ["tls-h1-large-get", "tls-h2-large-get"] {
            atLeast("\(figure) >= 0.8x nginx", value("layover", figure), 0.8, of: value("nginx", figure), "MB/s")
        }
        let nginxSmall = value("nginx", "tls-h2-manifest-get-rps")
        atLeast("tls-h2-manifest-get >= 0.5x nginx req/s", value("layover", "tls-h2-manifest-get-rps"), 0.5, of: nginxSmall, "req/s")
        atLeast("tls-h2-manifest-get with auth >= 0.5x nginx req/s", value("layover", "tls-h2-manifest-get-auth-rps"), 0.5, of: nginxSmall, "req/s")
        atLeast("tls-h2-manifest-get with auth within 20 % of without", value("layover", "tls-h2-manifest-get-auth-rps"), 0.8,
                of: value("layover", "tls-h2-manifest-get-rps"), "req/s")
        let rss = max(value("layover", "tls-peak-rss"), value("layover", "tls-auth-peak-rss"))
        check("TLS: peak RSS < 64 MiB", rss < 64, "\(format(rss)) MiB")
    }

    /// Checks `measured >= share * reference`, showing both and their ratio.
    private func atLeast(_ bar: String, _ measured: Double, _ share: Double, of reference: Double, _ unit: String) {
        check(bar, measured >= share * reference, "\(format(measured)) vs \(format(reference)) \(unit) (\(format(measured / reference))x)")
    }

    private func check(_ bar: String, _ passed: Bool, _ detail: String) {
        bars.append(Bar(bar: bar, passed: passed, detail: detail))
        say("\(passed ? "PASS" : "FAIL") \(bar): \(detail)")
    }

    /// Every figure as a row, one column per target, and Layover over the best peer where both exist.
    func printTable() {
        let targets = ordered.reduce(into: [String]()) { if !$0.contains($1.target) { $0.append($1.target) } }
        let names = ordered.reduce(into: [String]()) { if !$0.contains($1.figure) { $0.append($1.figure) } }
        var rows = [["figure", "unit"] + targets]
        for name in names {
            let unit = ordered.first { $0.figure == name }?.unit ?? ""
            rows.append([name, unit] + targets.map { target in
                figures["\(target) \(name)"].map { String(format: $0 < 10 ? "%.3f" : "%.1f", $0) } ?? "-"
            })
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        say("# table")
        for row in rows {
            say(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }

    /// The figures and bars, with the date, the machine and the command, as JSON.
    func writeJSON(to path: String) throws {
        struct Document: Codable {
            var date: String
            var machine: String
            var command: String
            var figures: [Figure]
            var bars: [Bar]
        }
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let memory = Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)
        let document = Document(
            date: ISO8601DateFormatter().string(from: Date()),
            machine: "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(Int(memory.rounded())) GiB, Linux \(kernel)",
            command: CommandLine.arguments.joined(separator: " "), figures: ordered, bars: bars)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(document).write(to: URL(fileURLWithPath: path))
        say("# figures written to \(path)")
    }

    private func format(_ value: Double) -> String { String(format: "%.2f", value) }
}
