/// A scrape of `/metrics`, parsed: each sample line `name{labels} value` by its series text.
struct PrometheusText {
    /// `name{label="v",…}` (as printed) → value.
    let samples: [String: Double]

    init(_ text: String) {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        self.samples = samples
    }

    /// The sample of `name` whose labels include every pair of `labels` (0 when none).
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { series, _ in
            let base = series.prefix { $0 != "{" }
            return base == name && labels.allSatisfy { series.contains("\($0.key)=\"\($0.value)\"") }
        }.values.reduce(0, +)
    }

    /// Every metric family name in the scrape.
    var names: Set<String> { Set(samples.keys.map { String($0.prefix { $0 != "{" }) }) }
}
