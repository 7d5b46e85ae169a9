import Foundation
import LayoverConfig
import LayoverTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// deploy/Dockerfile's runtime settings and the repository's .dockerignore. There is no Docker
/// engine here to build the image: the listen address goes through Layover's own configuration
/// code, and the HEALTHCHECK command runs, through /bin/sh as Docker runs it, against a real
/// `layover serve` listening where the image does.
@Suite("deploy/Dockerfile and .dockerignore")
struct ImageTests {
    @Test("the image listens on [::]:5000, which Layover reads as every IPv6 and IPv4 address")
    func listenAddress() throws {
        let environment = try Deploy.dockerfileEnvironment()
        #expect(environment["LAYOVER_LISTEN"] == "[::]:5000")
        #expect(environment["LAYOVER_STORAGE"] == "/var/lib/layover")
        var configuration = LayoverConfiguration.embeddedDefault
        try configuration.apply(environment: environment)
        #expect(configuration.listenHost == "::" && configuration.listenPort == 5000)
    }

    @Test("HEALTHCHECK runs layover status at the listen port, with a start period and a timeout above the client's 10 s")
    func healthcheckInstruction() throws {
        let healthcheck = try Deploy.healthcheck()
        #expect(healthcheck.command.hasPrefix("/usr/local/bin/layover status --server "), "\(healthcheck.command)")
        #expect(healthcheck.command.contains("${LAYOVER_LISTEN##*:}"), "the port comes from LAYOVER_LISTEN")
        // Docker reads exit 1 as unhealthy (2 is reserved); layover's own error exit is another number.
        #expect(healthcheck.command.hasSuffix("|| exit 1"))
        let timeout = try #require(healthcheck.options["timeout"].flatMap(Deploy.seconds))
        #expect(timeout > 10, "`layover status` itself gives up after 10 s")
        #expect(healthcheck.options["start-period"].flatMap(Deploy.seconds).map { $0 >= 60 } == true)
        #expect(healthcheck.options["retries"] != nil && healthcheck.options["interval"] != nil)
    }

    @Test("the HEALTHCHECK command passes against a real server on [::] (over IPv4) and fails once it is gone")
    func healthcheckAgainstAServer() async throws {
        let binary = try LayoverProcess.binary()
        let storage = NSTemporaryDirectory() + "layover-deploy-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: storage) }
        let server = try Deploy.BackgroundProcess(binary, ["serve", "--listen", "[::]:0", "--storage", storage],
                                                  environment: ["LAYOVER_LOG_LEVEL": "notice"])
        defer { server.stop() }
        let line = try await server.waitForLine(containing: "layover listening on ")
        let port = try #require(line.split(separator: ":").last.flatMap { Int($0) }, "\(line)")

        // As Docker runs it: `/bin/sh -c CMD`, with the image's environment (LAYOVER_LISTEN at this port).
        let command = try Deploy.healthcheck().command.replacingOccurrences(of: "/usr/local/bin/layover", with: binary)
        let listen = ["LAYOVER_LISTEN": "[::]:\(port)"]
        let healthy = try Deploy.run("/bin/sh", ["-c", command], environment: listen)
        #expect(healthy.status == 0, "\(healthy.output)\n\(server.output)")
        #expect(healthy.output.contains("Layover at http://127.0.0.1:\(port)"), "\(healthy.output)")
        // The same socket answers IPv6.
        let overIPv6 = try Deploy.run(binary, ["status", "--server", "http://[::1]:\(port)"])
        #expect(overIPv6.status == 0, "\(overIPv6.output)")

        server.stop()
        #expect(server.waitForExit() == 0, "\(server.output)")
        // Once nothing serves: a port held bound and not listening (so that no server started by
        // a test running in parallel can take it) refuses the check's connection.
        let closed = try Self.refusingPort()
        defer { close(closed.socket) }
        let unhealthy = try Deploy.run("/bin/sh", ["-c", command], environment: ["LAYOVER_LISTEN": "[::]:\(closed.port)"])
        #expect(unhealthy.status == 1, "\(unhealthy.output)")
    }

    /// A loopback port bound by a socket that never listens: connections to it are refused.
    static func refusingPort() throws -> (socket: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard fd >= 0, bound else { throw CocoaError(.fileReadUnknown) }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test(".dockerignore keeps build outputs, history and local data out of the context, and none of what the Dockerfile copies")
    func dockerignore() throws {
        let text = try String(contentsOf: Deploy.repository.appendingPathComponent(".dockerignore"), encoding: .utf8)
        let patterns = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        #expect(Set(patterns).isSuperset(of: [".build", ".build-*", ".git", "loadtests/results", "layover-data"]), "\(patterns)")
        #expect(!patterns.contains { $0.hasPrefix("!") }, "no exceptions: a plain list of what stays out")
        let copied = try Deploy.dockerfileInstructions().filter { $0.instruction == "COPY" && !$0.arguments.hasPrefix("--from=") }
            .flatMap { $0.arguments.split(separator: " ").dropLast().map(String.init) }
        #expect(Set(copied) == ["Package.*", "Sources", "Tests", "loadtests"], "\(copied)")
        for source in copied + ["Package.swift", "Package.resolved"] {
            for pattern in patterns {
                // A pattern that matches a source (or the glob itself) would empty that COPY.
                #expect(fnmatch(pattern, source, 0) != 0 && fnmatch(source, pattern, 0) != 0, "\(pattern) excludes \(source)")
            }
        }
    }
}

extension Deploy {
    /// deploy/Dockerfile's instructions: continuation lines joined, comment lines dropped.
    static func dockerfileInstructions() throws -> [(instruction: String, arguments: String)] {
        var instructions: [(instruction: String, arguments: String)] = []
        var pending = ""
        for rawLine in try text("Dockerfile").split(separator: "\n", omittingEmptySubsequences: false) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || (line.isEmpty && pending.isEmpty) { continue }
            if line.hasSuffix("\\") {
                pending += line.dropLast().trimmingCharacters(in: .whitespaces) + " "
                continue
            }
            let logical = pending + line
            pending = ""
            guard let space = logical.firstIndex(of: " ") else { continue }
            instructions.append((instruction: String(logical[..<space]), arguments: String(logical[logical.index(after: space)...])))
        }
        return instructions
    }

    /// The runtime image's ENV (`KEY=value` pairs, the last stage's).
    static func dockerfileEnvironment() throws -> [String: String] {
        let instructions = try dockerfileInstructions()
        let lastStage = instructions.lastIndex { $0.instruction == "FROM" } ?? 0
        var environment: [String: String] = [:]
        for (instruction, arguments) in instructions[lastStage...] where instruction == "ENV" {
            for pair in arguments.split(separator: " ") {
                guard let equals = pair.firstIndex(of: "=") else { throw DeployTestFailure("ENV without =: \(arguments)") }
                environment[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
        }
        return environment
    }

    /// HEALTHCHECK's `--name=value` options and its shell-form command.
    static func healthcheck() throws -> (options: [String: String], command: String) {
        let healthchecks = try dockerfileInstructions().filter { $0.instruction == "HEALTHCHECK" }
        guard healthchecks.count == 1, let arguments = healthchecks.first?.arguments,
              let cmd = arguments.range(of: "CMD ") else {
            throw DeployTestFailure("one HEALTHCHECK … CMD … instruction expected, found \(healthchecks.count)")
        }
        var options: [String: String] = [:]
        for option in arguments[..<cmd.lowerBound].split(separator: " ") {
            let parts = option.dropFirst(2).split(separator: "=", maxSplits: 1)
            guard option.hasPrefix("--"), parts.count == 2 else { throw DeployTestFailure("HEALTHCHECK option \(option)") }
            options[String(parts[0])] = String(parts[1])
        }
        return (options, String(arguments[cmd.upperBound...]))
    }

    /// A Docker duration of one unit (`30s`, `10m`, `1h`) in seconds.
    static func seconds(_ duration: String) -> Double? {
        guard let unit = duration.last, let value = Double(duration.dropLast()) else { return nil }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3600
        default: return nil
        }
    }

    /// A program left running while the test talks to it; its output (stdout and stderr) is collected.
    final class BackgroundProcess: @unchecked Sendable {
        private let process = Process()
        private let lock = NSLock()
        private var collected = Data()

        init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                // End of file: stop watching (else the handler is called again and again).
                guard !data.isEmpty else { handle.readabilityHandler = nil; return }
                self?.append(data)
            }
            // Killed with the test process, however that ends.
            try ProcessLauncher.launch(process, executable: executable, arguments: arguments)
        }

        private func append(_ data: Data) {
            lock.lock()
            defer { lock.unlock() }
            collected.append(data)
        }

        var output: String {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: collected, as: UTF8.self)
        }

        /// The first output line containing `text`, waiting up to `timeout`.
        func waitForLine(containing text: String, timeout: Duration = .seconds(60)) async throws -> String {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if let line = output.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
                guard process.isRunning else { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw DeployTestFailure("no line containing \(text); output:\n\(output)")
        }

        /// SIGTERM, once.
        func stop() {
            if process.isRunning { process.terminate() }
        }

        func waitForExit() -> Int32 {
            process.waitUntilExit()
            return process.terminationStatus
        }
    }
}
