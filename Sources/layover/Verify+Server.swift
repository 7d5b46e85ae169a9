import ArgumentParser
import Foundation
import LayoverConfig
import LayoverStore

extension Verify {
    /// Has the Layover at `server` scrub its store (`POST /_layover/verify`, or joins the pass
    /// running there), follows the pass to its end and prints what it found, as the offline
    /// `verify` does. Exits 1 when a blob was corrupt.
    static func throughServer(_ server: String) async throws {
        var report = try decode(try await AdminClient.get("/_layover/verify", from: server, method: .POST))
        let pass = report.pass
        let progress = ProgressLine(verb: "verified", total: 0)
        var expected: Int64 = 0
        var shown: Int64 = 0
        while true {
            if report.bytes > expected {
                progress.expect(report.bytes - expected)
                expected = report.bytes
            }
            progress.advance(Int(report.bytesChecked - shown))
            shown = report.bytesChecked
            guard report.running else { break }
            try await Task.sleep(for: .milliseconds(200))
            report = try decode(try await AdminClient.get("/_layover/verify?pass=\(pass)", from: server))
        }
        progress.finish()
        for blob in report.corrupt {
            let whereTo = blob.movedTo.map { "moved to \($0)" } ?? "its file could not be moved (it is not served all the same)"
            print("CORRUPT \(blob.digest): \(blob.problem); \(whereTo)")
        }
        let seconds = max(0, (report.finishedAt ?? report.startedAt) - report.startedAt)
        let rate = seconds > 0 ? Int64(Double(report.bytesChecked) / seconds) : 0
        let gone = report.blobsGone > 0 ? " (\(report.blobsGone) evicted before their turn)" : ""
        print("verified \(report.blobsChecked) blobs, \(ByteSize.format(report.bytesChecked)) in \(String(format: "%.1f", seconds)) s "
            + "(\(ByteSize.format(rate))/s) on \(server): \(report.corrupt.count) corrupt\(gone)")
        if let stopped = report.stopped { throw ValidationError("the pass stopped before its end: \(stopped)") }
        if !report.corrupt.isEmpty { throw ExitCode(1) }
    }

    private static func decode(_ body: Data) throws -> ScrubReport {
        do {
            return try JSONDecoder().decode(ScrubReport.self, from: body)
        } catch {
            throw ValidationError("unexpected answer from /_layover/verify: \(String(decoding: body, as: UTF8.self))")
        }
    }
}
