import Foundation
import LayoverTestSupport

/// nghttp2's `h2load`: `connections` HTTP/2 connections (TLS when the URL is `https`), each with
/// up to `streams` requests in flight, for `seconds` after a one-second warm-up. A load generator
/// in C, one thread: not the limit for one server process on two cores.
enum H2Load {
    /// The main phase's figures, in the shape of the HTTP/1.1 generator's (latencies from
    /// h2load's per-request log).
    static func run(_ url: String, connections: Int, streams: Int, seconds: Int, headers: [(String, String)] = [],
                    logDirectory: String) async throws -> ClosedLoopLoad.Result {
        let log = logDirectory + "/h2load-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        var arguments = ["-t", "1", "-c", String(connections), "-m", String(streams), "-D", String(seconds),
                         "--warm-up-time", "1", "--log-file", log]
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        let process = try TestProcess(executable: "/usr/bin/h2load", arguments: arguments + [url])
        guard try await process.waitForExit(timeout: .seconds(seconds + 120)) == 0 else {
            throw TestFailure("h2load \(url) failed: \(process.output)")
        }
        let output = process.output
        guard let rate = number(in: output, after: "finished in ", field: 1),
              let succeeded = number(in: output, after: "status codes: ", field: 0),
              let done = number(in: output, after: "requests: ", field: 2) else {
            throw TestFailure("h2load \(url): unexpected output \(output)")
        }
        // Each line: start (µs since the epoch), status, time to the answer's end (µs).
        let lines = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
        let latencies = lines.compactMap { line in line.split(separator: "\t").last.flatMap { UInt64($0) }.map { $0 * 1000 } }
        return ClosedLoopLoad.Result(requests: Int(succeeded), errors: Int(done - succeeded), seconds: succeeded / max(rate, 1),
                                     latenciesNanoseconds: latencies)
    }

    /// The `field`-th number (counting from 0) on the line that starts with `prefix`.
    private static func number(in output: String, after prefix: String, field: Int) -> Double? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
        let numbers = line.dropFirst(prefix.count).split(whereSeparator: { $0 == " " || $0 == "," })
            .compactMap { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: "s"))) }
        return field < numbers.count ? numbers[field] : nil
    }
}
