import Foundation
import LayoverTestSupport

/// Downloads with curl into /dev/null: a client that is not the limit for one large stream.
enum Curl {
    /// Runs one GET with `arguments` (e.g. `--http2`, `--cacert FILE`, `-H …`); returns the bytes
    /// received and the seconds it took.
    static func download(_ url: String, arguments: [String] = [], maximumSeconds: Int = 600) async throws -> (bytes: Int, seconds: Double) {
        let process = try TestProcess(executable: "/usr/bin/curl", arguments: arguments + [
            "-s", "--max-time", String(maximumSeconds), "-o", "/dev/null", "-w", "%{size_download} %{time_total} %{http_code}\\n", url,
        ])
        guard try await process.waitForExit(timeout: .seconds(600)) == 0 else {
            throw TestFailure("curl \(url) failed: \(process.output)")
        }
        let fields = process.output.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 3, let bytes = Int(fields[0]), let seconds = Double(fields[1]), fields[2] == "200" else {
            throw TestFailure("curl \(url): unexpected output \(process.output)")
        }
        return (bytes, seconds)
    }
}
