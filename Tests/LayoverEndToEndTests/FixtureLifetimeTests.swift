import Foundation
import LayoverTestSupport
import Testing

/// The processes tests start (registries, Layover servers, tools) die with the test process,
/// however it ends, and only then (see `ProcessLauncher`).
@Suite("Fixture lifetime", .endToEnd)
struct FixtureLifetimeTests {
    /// Set (to a file's path) only in the helper run below.
    static let helperVariable = "LAYOVER_FIXTURE_LIFETIME_HELPER"

    @Test("a process started through TestProcess is gone within seconds of the test process being killed (kill -9)",
          .enabled(if: ProcessLauncher.setpriv != nil))
    func childDiesWithTestProcess() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let handOff = scratch.path + "/child"
        // This test binary again, running only the helper below: it starts a child through
        // TestProcess, writes the child's pid and waits, as a test with a fixture up does.
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let helper = try TestProcess(
            executable: testBinary,
            arguments: ["--testing-library", "swift-testing", "--filter", "helperStartsChildAndWaits"],
            environment: ProcessInfo.processInfo.environment.merging([Self.helperVariable: handOff]) { $1 })
        defer { helper.stop(signal: SIGKILL) }
        var written: [Substring] = []
        try await eventually(timeout: .seconds(60)) {
            written = ((try? String(contentsOfFile: handOff, encoding: .utf8)) ?? "").split(separator: "\n")
            return written.count == 2 || !helper.isRunning
        }
        let child = try #require(written.first.flatMap { Int32($0) }, "the helper wrote no pid: \(helper.output)")
        defer { try? FileManager.default.removeItem(atPath: String(written[1])) }
        #expect(Self.isAlive(child))

        helper.stop(signal: SIGKILL)
        try await eventually(timeout: .seconds(5)) { !Self.isAlive(child) }
    }

    @Test("a process outlives the thread that started it (the kernel's parent-death signal follows the thread)")
    func childOutlivesStartingThread() async throws {
        let started = Shared<(process: TestProcess?, thread: Int32)>((nil, 0))
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            let process = try? TestProcess(executable: "/bin/sleep", arguments: ["60"])
            started.withLock { $0 = (process, Self.currentThreadID()) }
            finished.signal()
        }
        thread.start()
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                finished.wait()
                continuation.resume()
            }
        }
        let (process, tid) = started.withLock { $0 }
        let child = try #require(process)
        defer { child.stop(signal: SIGKILL) }
        try await eventually(timeout: .seconds(10)) { !FileManager.default.fileExists(atPath: "/proc/self/task/\(tid)") }
        try await Task.sleep(for: .milliseconds(500))
        #expect(child.isRunning, "killed when the thread that asked for it ended")
    }

    /// Not a test of its own: the process `childDiesWithTestProcess` starts and kills.
    @Test(.enabled(if: ProcessInfo.processInfo.environment[helperVariable] != nil))
    func helperStartsChildAndWaits() async throws {
        let handOff = try #require(ProcessInfo.processInfo.environment[Self.helperVariable])
        let child = try TestProcess(executable: "/bin/sleep", arguments: ["300"])
        try "\(child.process.processIdentifier)\n\(child.outputPath)".write(toFile: handOff, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .seconds(300))
    }

    /// The kernel's id of the calling thread (`/proc/thread-self` is `PID/task/TID`).
    static func currentThreadID() -> Int32 {
        let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
        return link.split(separator: "/").last.flatMap { Int32($0) } ?? 0
    }

    /// Whether `pid` is a process that has not exited (a zombie, killed and not yet reaped, has).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.range(of: ") ") else { return false }
        let state = stat[afterName.upperBound...].prefix(1)
        return state != "Z" && state != "X"
    }
}
