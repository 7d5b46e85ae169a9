import Foundation
import LayoverTestSupport

/// Issue 9's front, side by side with nginx serving the same files over TLS with HTTP/2: warm
/// single-stream GETs of a large blob over HTTP/1.1 and HTTP/2 (curl, rounds interleaved and
/// rotated as in `warm`), then GETs of a manifest by digest over HTTP/2 (h2load), with client
/// authentication off and on (a token sent as the Basic password on every request).
///
/// Layover runs twice here, with `--tls-cert`/`--tls-key`, each on its own store warmed from the
/// upstream (the second with an `auth` section that lets no anonymous client in); nginx serves
/// the first one's files. A self-signed certificate made with `openssl` is the clients' CA.
struct TLSScenario {
    /// The layover executable.
    var layover: String
    var largeRounds = 6
    var smallRounds: Int
    var seconds: Int
    var connections: Int
    var streams: Int
    /// More `serve` flags for both Layover processes (`--event-loops N`).
    var serveArguments: [String] = []
    /// nginx's worker processes.
    var nginxWorkers = 1

    func run(upstream: UpstreamRegistry, blob: String, manifest: String, report: Report) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (certificate, key) = try await Self.makeCertificate(in: directory.path)
        let token = UUID().uuidString
        let tokenHash = TestHTTP.digest(of: Array(token.utf8)).dropFirst("sha256:".count)
        let config = directory.path + "/auth.yaml"
        try "auth:\n  tokens:\n    - name: bench\n      sha256: \(tokenHash)\n  anonymous: []\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let authorization = ("Authorization", "Basic " + Data("bench:\(token)".utf8).base64EncodedString())
        let accept = ("Accept", "application/vnd.oci.image.manifest.v1+json")

        let tls = ["--tls-cert", certificate, "--tls-key", key] + serveArguments
        let open = try await LayoverProcess(upstreamURL: upstream.url, storage: directory.path + "/store", extraArguments: tls, binary: layover)
        defer { open.stop(signal: SIGKILL) }
        let guarded = try await LayoverProcess(upstreamURL: upstream.url, storage: directory.path + "/store-auth",
                                               extraArguments: tls + ["--config", config], binary: layover)
        defer { guarded.stop(signal: SIGKILL) }
        let trust = ["--cacert", certificate]
        _ = try await Curl.download("\(open.url)/v2/up/bench/app/blobs/\(blob)", arguments: trust)
        _ = try await Curl.download("\(open.url)/v2/up/bench/cache/manifests/\(manifest)", arguments: trust + ["-H", "\(accept.0): \(accept.1)"])
        _ = try await Curl.download("\(guarded.url)/v2/up/bench/cache/manifests/\(manifest)",
                                    arguments: trust + ["-H", "\(accept.0): \(accept.1)", "-H", "\(authorization.0): \(authorization.1)"])
        // Let Layover finish storing what the warm-up fetched before nginx serves its files.
        try await Task.sleep(for: .seconds(3))
        let nginx = try await Nginx(blobRoot: directory.path + "/store/blobs/sha256", tls: (certificate, key), workers: nginxWorkers)
        defer { nginx.stop() }
        let nginxURL = "https://127.0.0.1:\(nginx.port)"
        let openPID = open.process!.process.processIdentifier

        say("# tls: single-stream GETs of the \(blob.prefix(19))… blob over HTTP/1.1 and HTTP/2, \(largeRounds) rounds")
        try await largeGETs([("layover", open.url, openPID), ("nginx", nginxURL, nginx.pid)], blob: blob, trust: trust, report: report)
        say("# tls: h2load, \(connections) connections × \(streams) streams, \(smallRounds) rounds of \(seconds) s")

        // Small GETs: the three servers interleaved, order rotated, medians of the rounds.
        let path = "/v2/up/bench/cache/manifests/\(manifest)"
        let guardedPID = guarded.process!.process.processIdentifier
        let runs: [(target: String, figure: String, url: String, headers: [(String, String)], pid: Int32)] = [
            ("layover", "tls-h2-manifest-get", open.url + path, [accept], openPID),
            ("layover", "tls-h2-manifest-get-auth", guarded.url + path, [accept, authorization], guardedPID),
            ("nginx", "tls-h2-manifest-get", nginxURL + path, [accept], nginx.pid),
        ]
        var results: [Int: [ClosedLoopLoad.Result]] = [:]
        var cpuPerRequest: [Int: [Double]] = [:]
        for round in 0..<smallRounds {
            for index in runs.indices {
                let which = (index + round) % runs.count
                let run = runs[which]
                let before = ProcessReading.cpuSeconds(run.pid)
                let result = try await H2Load.run(run.url, connections: connections, streams: streams, seconds: seconds,
                                                  headers: run.headers, logDirectory: directory.path)
                // The CPU covers h2load's one-second warm-up too, taken at the measured rate.
                let requests = result.requestsPerSecond * Double(seconds + 1)
                cpuPerRequest[which, default: []].append((ProcessReading.cpuSeconds(run.pid) - before) / max(requests, 1) * 1e6)
                results[which, default: []].append(result)
            }
        }
        for (index, run) in runs.enumerated() {
            let measured = results[index, default: []]
            report.add(run.target, "\(run.figure)-rps", median(measured.map(\.requestsPerSecond)), "req/s")
            report.add(run.target, "\(run.figure)-p99", median(measured.map { $0.percentile(0.99) }), "ms")
            report.add(run.target, "\(run.figure)-cpu", median(cpuPerRequest[index, default: []]), "CPU-µs/req")
            let errors = measured.reduce(0) { $0 + $1.errors }
            if errors > 0 { report.add(run.target, "\(run.figure)-errors", Double(errors), "count") }
        }
        report.add("layover", "tls-peak-rss", ProcessReading.peakRSSMiB(openPID), "MiB")
        report.add("layover", "tls-auth-peak-rss", ProcessReading.peakRSSMiB(guardedPID), "MiB")
        report.add("nginx", "tls-peak-rss", ProcessReading.peakRSSMiB(nginx.pid), "MiB")
    }

    /// Single-stream GETs of the large blob over HTTP/1.1 and HTTP/2 through TLS: median MB/s
    /// and server CPU-s per GiB, each protocol on its own.
    private func largeGETs(_ servers: [(name: String, url: String, pid: Int32)], blob: String, trust: [String], report: Report) async throws {
        let protocols = [("tls-h1", "--http1.1"), ("tls-h2", "--http2")]
        let runs = servers.flatMap { server in protocols.map { (server, $0) } }
        var speeds: [Int: [Double]] = [:]
        var cpu: [Int: Double] = [:]
        var bytes: [Int: Int] = [:]
        for round in 0..<largeRounds {
            for index in runs.indices {
                let which = (index + round) % runs.count
                let (server, (_, flag)) = runs[which]
                let before = ProcessReading.cpuSeconds(server.pid)
                let (count, seconds) = try await Curl.download("\(server.url)/v2/up/bench/app/blobs/\(blob)", arguments: trust + [flag])
                cpu[which, default: 0] += ProcessReading.cpuSeconds(server.pid) - before
                bytes[which, default: 0] += count
                speeds[which, default: []].append(Double(count) / seconds / 1e6)
            }
        }
        for (index, (server, (figure, _))) in runs.enumerated() {
            report.add(server.name, "\(figure)-large-get", median(speeds[index, default: []]), "MB/s")
            report.add(server.name, "\(figure)-large-cpu", cpu[index, default: 0] / (Double(bytes[index, default: 1]) / Double(1 << 30)), "CPU-s/GiB")
        }
    }

    /// A self-signed certificate for 127.0.0.1 and localhost: the server's, and the clients' CA.
    static func makeCertificate(in directory: String) async throws -> (certificate: String, key: String) {
        let certificate = directory + "/bench.pem", key = directory + "/bench.key"
        let process = try TestProcess(executable: "/usr/bin/openssl", arguments: [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=layover-bench",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", certificate,
        ])
        guard try await process.waitForExit(timeout: .seconds(60)) == 0 else { throw TestFailure("openssl failed: \(process.output)") }
        return (certificate, key)
    }
}
