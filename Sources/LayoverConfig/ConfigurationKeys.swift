import Yams

/// The keys a configuration file may hold. An unknown key anywhere is refused at startup with its
/// path and the nearest known key (a misspelt `auth:` must never leave the proxy open).
/// A key added to the file format is added here too.
enum ConfigurationKeys {
    /// The shape of a file: which keys each mapping may hold.
    indirect enum Shape: Sendable {
        /// A scalar or a list of scalars: nothing below is checked here (the decoder checks types).
        case value
        /// A mapping with exactly these keys allowed.
        case keys([String: Shape])
        /// A mapping keyed by names the operator chooses (`upstreams`), each value of one shape.
        case named(Shape)
        /// A list whose items have one shape.
        case list(Shape)
    }

    static let file: Shape = .keys([
        "listen": .value, "storage": .value, "maxBytes": .value, "indexSynchronous": .value,
        "defaultUpstream": .value, "uploadTimeoutSeconds": .value, "maxUploadSessions": .value, "maxUploadSessionsPerClient": .value,
        "maxConnections": .value, "accessLog": .value, "logFormat": .value, "shutdownGraceSeconds": .value, "upstreamIdleTimeoutSeconds": .value,
        "scrubBytesPerSecond": .value, "eventLoops": .value,
        "upstreams": .named(.keys([
            "url": .value, "username": .value, "password": .value, "tagFreshnessSeconds": .value,
            "push": .value, "allowDelete": .value, "stallTimeoutSeconds": .value, "uploadChunkSize": .value,
            "prefetch": .keys(["cacheManifests": .value, "maxBytes": .value, "concurrency": .value]),
        ])),
        "auth": .keys([
            "htpasswd": .value,
            "tokens": .list(.keys(["name": .value, "sha256": .value])),
            "anonymous": .value,
            "rules": .list(.keys(["who": .value, "repositories": .value, "allow": .value])),
            "adminUsers": .value,
        ]),
        "tls": .keys(["certificate": .value, "key": .value]),
        "limits": .keys([
            "headerTimeoutSeconds": .value, "idleTimeoutSeconds": .value, "maxHeaderBytes": .value,
            "maxConnections": .value, "maxConcurrentStreams": .value, "maxUploadBytes": .value,
        ]),
        "fleet": .keys([
            "advertise": .value, "peers": .value, "secret": .value, "secretFile": .value, "peersFromDNS": .value,
            "redirectBlobs": .value,
        ]),
        "intercept": .keys([
            "listen": .value, "tunnel": .value, "tunnelPorts": .value,
            "ca": .keys(["certificate": .value, "key": .value]),
        ]),
    ])

    /// Throws for the first key of `node` the file format does not know.
    static func check(_ node: Node, against shape: Shape = file, path: String = "") throws(ConfigurationError) {
        switch (shape, node) {
        case (.keys(let known), .mapping(let mapping)):
            for (key, value) in mapping {
                let name = key.string ?? "\(key)"
                // `<<` merges another mapping (YAML merge key); its keys are the merged ones.
                if name == "<<" { continue }
                let childPath = path.isEmpty ? name : "\(path).\(name)"
                guard let child = known[name] else { throw unknown(childPath, name, among: Array(known.keys)) }
                try check(value, against: child, path: childPath)
            }
        case (.named(let inner), .mapping(let mapping)):
            for (key, value) in mapping {
                let name = key.string ?? "\(key)"
                try check(value, against: inner, path: path.isEmpty ? name : "\(path).\(name)")
            }
        case (.list(let inner), .sequence(let sequence)):
            for (index, item) in sequence.enumerated() {
                try check(item, against: inner, path: "\(path)[\(index)]")
            }
        default:
            // A value of another type than the shape expects: the decoder names it.
            return
        }
    }

    private static func unknown(_ path: String, _ key: String, among known: [String]) -> ConfigurationError {
        if let nearest = nearest(to: key, among: known) {
            return ConfigurationError("config file: unknown key `\(path)` (did you mean `\(nearest)`?)")
        }
        return ConfigurationError("config file: unknown key `\(path)` (known here: \(known.sorted().joined(separator: ", ")))")
    }

    /// The known key closest to `key` (case ignored; a swap of two neighbours counts as one
    /// edit), when it is close enough to be a typo, or that `key` starts (`headerTimeout`).
    static func nearest(to key: String, among known: [String]) -> String? {
        if key.count >= 4, let longer = known.sorted().first(where: { $0.lowercased().hasPrefix(key.lowercased()) }) {
            return longer
        }
        let scored = known.map { ($0, distance(key.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }) else { return nil }
        let allowed = max(1, min(3, best.0.count / 3))
        return best.1 <= allowed ? best.0 : nil
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and transpositions.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
