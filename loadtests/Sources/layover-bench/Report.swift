import Foundation

/// Collects figures, prints each as it comes, and checks the core issue's bars at the end.
final class Report {
    private var figures: [String: Double] = [:]
    /// Clients in the cold herd.
    let herdSize: Int

    init(herdSize: Int) {
        self.herdSize = herdSize
    }

    func add(_ target: String, _ figure: String, _ value: Double, _ unit: String) {
        figures["\(target) \(figure)"] = value
        print("\(target) \(figure) \(String(format: value < 10 ? "%.3f" : "%.1f", value)) \(unit)")
    }

    func value(_ target: String, _ figure: String) -> Double { figures["\(target) \(figure)"] ?? .nan }

    func printBars() {
        print("# bars")
        let fasterPeer = max(value("registry-proxy", "warm-large-get"), value("nginx", "warm-large-get"))
        let leanerPeer = min(value("registry-proxy", "warm-large-cpu"), value("nginx", "warm-large-cpu"))
        check("warm large GET >= faster peer", value("layover", "warm-large-get") >= fasterPeer,
              "\(format(value("layover", "warm-large-get"))) vs \(format(fasterPeer)) MB/s")
        check("warm large GET CPU/GiB < every peer", value("layover", "warm-large-cpu") < leanerPeer,
              "\(format(value("layover", "warm-large-cpu"))) vs \(format(leanerPeer)) CPU-s/GiB")
        for label in ["manifest-get", "blob-head"] {
            let ratio = value("layover", "\(label)-rps") / value("registry-proxy", "\(label)-rps")
            check("\(label) >= 10x registry req/s", ratio >= 10, "\(format(ratio))x")
            check("\(label) p99 < 5 ms", value("layover", "\(label)-p99") < 5, "\(format(value("layover", "\(label)-p99"))) ms")
        }
        let perBlob = value("layover", "cold-herd-upstream-per-blob")
        check("cold herd upstream bytes / blob = 1.00", (perBlob * 100).rounded() / 100 == 1.0, format(perBlob))
        check("cold herd: every client got the whole blob", value("layover", "cold-herd-complete") == Double(herdSize),
              "\(format(value("layover", "cold-herd-complete"))) of \(herdSize)")
        check("cold herd within 1.5x one client", value("layover", "cold-herd-vs-single") <= 1.5,
              "\(format(value("layover", "cold-herd-vs-single")))x")
        check("peak RSS < 64 MiB", value("layover", "peak-rss") < 64, "\(format(value("layover", "peak-rss"))) MiB")
        check("push acknowledged >= 5x sooner than direct", value("layover", "push-ack-speedup") >= 5,
              "\(format(value("layover", "push-ack-speedup")))x")
        check("push: peak RSS < 64 MiB", value("layover", "push-peak-rss") < 64, "\(format(value("layover", "push-peak-rss"))) MiB")
    }

    private func check(_ bar: String, _ passed: Bool, _ detail: String) {
        print("\(passed ? "PASS" : "FAIL") \(bar): \(detail)")
    }

    private func format(_ value: Double) -> String { String(format: "%.2f", value) }
}
