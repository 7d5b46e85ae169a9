import Foundation
import LayoverTestSupport
import Testing

/// A process started with few descriptors (containers get a soft limit of 1024) keeps answering
/// its liveness probe however many connections clients hold, and keeps descriptors in reserve.
@Suite("Open-file limit", .endToEnd)
struct FileLimitTests {
    @Test("under `ulimit -n 256`, 300 held connections do not stop /healthz from answering, nor take the last descriptors")
    func healthUnderDescriptorPressure() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let wrapper = scratch.path + "/layover-limited"
        try "#!/bin/sh\nulimit -n 256 || exit 1\nexec \(try LayoverProcess.binary()) \"$@\"\n".write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        let registry = try await UpstreamRegistry()
        defer { registry.stop() }
        let layover = try await LayoverProcess(upstreamURL: registry.url, storage: scratch.path + "/store",
                                               environment: ["LAYOVER_LOG_LEVEL": "info"], binary: wrapper)
        defer { layover.stop(signal: SIGKILL) }
        #expect(layover.log.contains("open-file limit"), "the limits are logged at start")
        #expect(layover.log.contains("hard=256") || layover.log.contains("\"hard\":\"256\"") || layover.log.contains("hard: 256"),
                "\(layover.log.prefix(2000))")

        let port = layover.port
        var held: [RawHTTP] = []
        for _ in 0..<300 { held.append(try RawHTTP(port: port)) }
        // A connection within the limit is served in full.
        let first = held[0]
        let base = await Task.detached {
            first.write("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            return first.readAll()
        }.value
        #expect(RawHTTP.status(of: base) == 200, "\(base)")
        // Accepting stops short of the limit: descriptors stay free for the store, the index
        // and the runtime (libdispatch traps when its worker monitor cannot open a /proc file).
        let pid = try #require(layover.process?.process.processIdentifier)
        var mostOpen = 0
        for _ in 0..<10 {
            mostOpen = max(mostOpen, (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0)
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(mostOpen > 0 && mostOpen <= 256 - 16, "descriptors open with 300 connections waiting: \(mostOpen) of 256")
        // The probe gets through while every other connection is still held.
        var attempts: [String] = []
        do {
            try await eventually(timeout: .seconds(20)) {
                do {
                    return try await TestHTTP.shared.get("\(layover.url)/healthz").status == 200
                } catch {
                    attempts.append("\(error)")
                    return false
                }
            }
        } catch {
            let descriptors = layover.process.map { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\($0.process.processIdentifier)/fd").count) ?? -1 }
            Issue.record("""
                /healthz not answered: \(error); running: \(layover.process?.isRunning == true); descriptors open: \(descriptors ?? -1); \
                failed attempts: \(attempts.suffix(5)); log ends: \(layover.log.suffix(3000))
                """)
        }
        #expect(held.count == 300)
        #expect(layover.process?.isRunning == true)
    }
}
