import Foundation
import LayoverLocks

/// A child process whose output goes to a file, so a test can wait for a line and read the log.
/// It never outlives the test process (see `ProcessLauncher`).
public final class TestProcess: @unchecked Sendable {
    public let process = Process()
    public let outputPath: String
    private let executable: String
    /// Signals this object sent: a death by any other is a crash, whose output is printed.
    private let sent = Locked<Set<Int32>>([])

    public init(executable: String, arguments: [String], environment: [String: String]? = nil) throws {
        self.executable = executable
        outputPath = NSTemporaryDirectory() + "layover-test-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        if let environment { process.environment = environment }
        process.standardOutput = output
        process.standardError = output
        // Killed with the test process, however that ends (see ProcessLauncher).
        try ProcessLauncher.launch(process, executable: executable, arguments: arguments)
    }

    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Polls the output until a line contains `marker`; returns that line.
    public func waitForLine(containing marker: String, timeout: Duration = .seconds(20)) async throws -> String {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            // The output is read once more after the deadline: on a loaded machine this task may
            // be scheduled late, and a line that arrived in time must not count as a timeout.
            if let line = output.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
            guard process.isRunning else { throw TestFailure("process exited early: \(output)") }
            guard clock.now < deadline else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("timed out waiting for '\(marker)' in: \(output)")
    }

    /// Waits (without blocking a thread) until the process exits; returns its status.
    public func waitForExit(timeout: Duration = .seconds(120)) async throws -> Int32 {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while process.isRunning {
            guard clock.now < deadline else { throw TestFailure("process did not exit: \(output)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    /// Whether the process has not exited.
    public var isRunning: Bool { process.isRunning }

    /// Sends `signal` without waiting (e.g. SIGSTOP / SIGCONT).
    public func send(signal: Int32) {
        guard process.isRunning else { return }
        sent.withLock { _ = $0.insert(signal) }
        kill(process.processIdentifier, signal)
    }

    /// Sends `signal` and waits for the process to exit.
    public func stop(signal: Int32 = SIGTERM) {
        guard process.isRunning else { return }
        sent.withLock { _ = $0.insert(signal) }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    /// The output of a process that died of a signal nobody here sent (a crash: the Swift
    /// runtime's backtrace is in it), for the test log; nil otherwise.
    var crashReport: String? {
        guard !process.isRunning, process.terminationReason == .uncaughtSignal,
              !sent.withLock({ $0.contains(process.terminationStatus) }) else { return nil }
        let output = output
        // The cause and the crashed thread come first in the runtime's report; idle threads follow.
        let excerpt: Substring
        if let crashed = output.range(of: "Program crashed") {
            let start = output.index(crashed.lowerBound, offsetBy: -3_000, limitedBy: output.startIndex) ?? output.startIndex
            excerpt = output[start...].prefix(24_000)
        } else {
            excerpt = output.suffix(16_000)
        }
        return "\(executable) died of signal \(process.terminationStatus); its output:\n\(excerpt)"
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        } else if let crashReport {
            FileHandle.standardError.write(Data("\n=== a child process crashed: \(crashReport)\n".utf8))
        }
        try? FileManager.default.removeItem(atPath: outputPath)
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A fresh directory under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory {
    public let path: String

    public init() throws {
        path = NSTemporaryDirectory() + "layover-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Finds a free loopback port by binding port 0 and reading what the kernel chose.
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw TestFailure("bind failed") }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
