import Foundation

/// The real `layover` executable, started as a child process pointed at a test upstream.
public final class LayoverProcess: @unchecked Sendable {
    public let storage: String
    public let arguments: [String]
    private let binaryPath: String?
    private let environment: [String: String]
    public private(set) var process: TestProcess?
    public private(set) var url = ""
    /// The port it listens on (from `url`).
    public var port: Int { Int(url.split(separator: ":").last!)! }

    /// - Parameters:
    ///   - upstreamURL: served as upstream `up`, also the default upstream.
    ///   - extraArguments: more `serve` flags, e.g. `--max-bytes`.
    ///   - environment: added to the process's environment (e.g. `LAYOVER_LOG_LEVEL`).
    ///   - binary: the executable; by default the one built beside the running tests.
    public init(upstreamURL: String, storage: String, extraArguments: [String] = [], environment: [String: String] = [:],
                binary: String? = nil) async throws {
        self.storage = storage
        self.binaryPath = binary
        self.environment = ["LAYOVER_LOG_LEVEL": "notice"].merging(environment) { $1 }
        arguments = ["serve", "--listen", "127.0.0.1:0", "--storage", storage,
                     "--upstream", "up=\(upstreamURL)", "--default-upstream", "up"] + extraArguments
        try await start()
    }

    /// Starts the process (again) on a fresh port and waits until it listens.
    public func start() async throws {
        let process = try TestProcess(executable: try binaryPath ?? Self.binary(), arguments: arguments,
                                      environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
        let line = try await process.waitForLine(containing: "layover listening on ")
        url = String(line.split(separator: " ").last!)
        self.process = process
    }

    /// Stops the process with `signal` (SIGTERM: a clean stop; SIGKILL: a crash).
    public func stop(signal: Int32 = SIGTERM) {
        process?.stop(signal: signal)
    }

    public var log: String { process?.output ?? "" }

    /// Runs another `layover` subcommand (`status`, `verify`, `warm`) to its end.
    public static func run(_ arguments: [String], timeout: Duration = .seconds(120)) async throws -> (status: Int32, output: String) {
        let process = try TestProcess(executable: try binary(), arguments: arguments)
        let status = try await process.waitForExit(timeout: timeout)
        return (status, process.output)
    }

    /// The executable built beside the test bundle (or `LAYOVER_BINARY`).
    public static func binary() throws -> String {
        if let path = ProcessInfo.processInfo.environment["LAYOVER_BINARY"] { return path }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("layover").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw TestFailure("layover executable not found near \(executable); run `swift build` first or set LAYOVER_BINARY")
    }

    deinit { process?.stop(signal: SIGKILL) }
}
