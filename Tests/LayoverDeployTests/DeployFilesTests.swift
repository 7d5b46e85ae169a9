import Foundation
import LayoverConfig
import Testing
import Yams

/// Every file under `deploy/` parses, and says what it must: a typo cannot ship.
@Suite("deploy/")
struct DeployFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy").path

    static func text(_ path: String) throws -> String {
        try String(contentsOfFile: "\(root)/\(path)", encoding: .utf8)
    }

    /// Every YAML, TOML and JSON file under deploy/.
    static func files(withExtensions extensions: Set<String>) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var found: [String] = []
        while let path = enumerator?.nextObject() as? String {
            if extensions.contains(URL(fileURLWithPath: path).pathExtension) { found.append(path) }
        }
        return found.sorted()
    }

    @Test func everyYAMLFileParses() throws {
        let files = Self.files(withExtensions: ["yaml", "yml"])
        #expect(files.count == 4, "\(files)")
        for file in files {
            let documents = try Yams.load_all(yaml: try Self.text(file)).map { $0 }
            #expect(!documents.isEmpty, "\(file) holds no document")
        }
    }

    @Test("Kubernetes: a StatefulSet with a volume claim and probes, a Service, a ConfigMap Layover accepts")
    func kubernetes() throws {
        let documents = try Yams.load_all(yaml: try Self.text("kubernetes/layover.yaml")).compactMap { $0 as? [String: Any] }
        let byKind = Dictionary(documents.map { ($0["kind"] as? String ?? "?", $0) }, uniquingKeysWith: { first, _ in first })
        #expect(Set(byKind.keys) == ["ConfigMap", "Service", "StatefulSet"])

        let statefulSet = try #require(byKind["StatefulSet"])
        let spec = try #require(statefulSet["spec"] as? [String: Any])
        let claims = try #require(spec["volumeClaimTemplates"] as? [[String: Any]])
        #expect(claims.count == 1)
        let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        let annotations = try #require(((spec["template"] as? [String: Any])?["metadata"] as? [String: Any])?["annotations"] as? [String: String])
        #expect(annotations["prometheus.io/path"] == "/metrics")
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        #expect((container["livenessProbe"] as? [String: Any]).flatMap { ($0["httpGet"] as? [String: Any])?["path"] as? String } == "/healthz")
        #expect((container["readinessProbe"] as? [String: Any]).flatMap { ($0["httpGet"] as? [String: Any])?["path"] as? String } == "/readyz")
        #expect(((container["resources"] as? [String: Any])?["requests"] as? [String: Any])?["memory"] != nil)
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
        #expect(mounts.contains { $0["mountPath"] as? String == "/var/lib/layover" })
        #expect((pod["securityContext"] as? [String: Any])?["runAsNonRoot"] as? Bool == true)

        let service = try #require(byKind["Service"])
        let ports = try #require((service["spec"] as? [String: Any])?["ports"] as? [[String: Any]])
        #expect(ports.first?["port"] as? Int == 5000)

        let configMap = try #require(byKind["ConfigMap"])
        let file = try #require((configMap["data"] as? [String: String])?["layover.yaml"])
        var configuration = LayoverConfiguration.embeddedDefault
        try configuration.apply(yaml: file)
        let valid = try configuration.validated()
        #expect(valid.listenPort == 5000)
        #expect(valid.storage == "/var/lib/layover")
        #expect(valid.logFormat == "json")
    }

    @Test("the systemd example config is one Layover accepts")
    func systemdConfig() throws {
        var configuration = LayoverConfiguration.embeddedDefault
        try configuration.apply(yaml: try Self.text("systemd/layover.yaml"))
        let valid = try configuration.validated()
        #expect(valid.listenHost == "0.0.0.0" && valid.listenPort == 5000)
        #expect(valid.upstreams["registry.internal"]?.url == "http://registry.internal:5000")
    }

    @Test("the systemd unit: the keys it needs, hardening, and systemd-analyze verify where available")
    func systemdUnit() async throws {
        let unit = try Self.text("systemd/layover.service")
        var service: [String: String] = [:]
        var section = ""
        for line in unit.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            if line.hasPrefix("[") { section = String(line); continue }
            guard section == "[Service]", let equals = line.firstIndex(of: "=") else { continue }
            service[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        #expect(service["ExecStart"]?.hasPrefix("/usr/local/bin/layover serve") == true)
        #expect(service["User"] == "layover")
        #expect(service["KillSignal"] == "SIGTERM")
        for key in ["NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "CapabilityBoundingSet", "ReadWritePaths"] {
            #expect(service[key] != nil, "\(key) is set")
        }
        let analyze = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyze) else { return }
        // verify checks that ExecStart exists: point it at a binary every machine has.
        let copy = NSTemporaryDirectory() + "layover-\(UUID().uuidString).service"
        try unit.replacingOccurrences(of: "ExecStart=/usr/local/bin/layover", with: "ExecStart=/bin/true")
            .write(toFile: copy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let result = try run(analyze, ["verify", copy])
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.contains("Unknown key"), "\(result.output)")
    }

    @Test("TOML client recipes parse and mirror through Layover")
    func tomlRecipes() throws {
        for (file, expected) in [("clients/containerd-hosts.toml", "host"), ("clients/buildkitd.toml", "registry")] {
            let parsed = try toml("\(Self.root)/\(file)")
            let table = try #require(parsed[expected] as? [String: Any], "\(file): no [\(expected)] table")
            #expect(table.keys.contains { $0.contains("layover.internal:5000") }, "\(file): \(table.keys)")
        }
        let buildkit = try toml("\(Self.root)/clients/buildkitd.toml")
        let registries = try #require(buildkit["registry"] as? [String: [String: Any]])
        #expect(registries["docker.io"]?["mirrors"] as? [String] == ["layover.internal:5000"])
        #expect(registries["layover.internal:5000"]?["http"] as? Bool == true)
    }

    @Test("JSON files parse; the dashboard queries only Layover's metrics")
    func jsonFiles() throws {
        let daemon = try JSONSerialization.jsonObject(with: Data(try Self.text("clients/docker-daemon.json").utf8)) as? [String: Any]
        #expect(daemon?["registry-mirrors"] as? [String] == ["http://layover.internal:5000"])
        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(try Self.text("grafana/layover-dashboard.json").utf8)) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        #expect(panels.count >= 10)
        for panel in panels {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                #expect((target["expr"] as? String)?.contains("layover_") == true, "\(panel["title"] ?? "?")")
            }
        }
    }

    @Test("the CI recipes use cache refs through Layover")
    func ciRecipes() throws {
        for file in ["clients/github-actions.yml", "clients/gitlab-ci.yml"] {
            let text = try Self.text(file)
            #expect(text.contains("type=registry,ref=layover.internal:5000/ghcr.io/org/app:buildcache"), "\(file)")
            #expect(text.contains("mode=max"), "\(file)")
        }
    }

    @Test("the Dockerfile builds in one stage and runs non-root in a slim one, the store on a volume")
    func dockerfile() throws {
        let text = try Self.text("Dockerfile")
        let stages = text.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(stages.count == 2)
        #expect(stages.first?.contains("swift:") == true)
        #expect(text.contains("USER 10001"))
        #expect(text.contains("VOLUME [\"/var/lib/layover\"]"))
        #expect(text.contains("ENTRYPOINT [\"/usr/local/bin/layover\"]"))
    }
}

/// Parses a TOML file with Python's standard `tomllib` (no TOML parser in our dependencies).
func toml(_ path: String) throws -> [String: Any] {
    let result = try run("/usr/bin/python3", ["-c", "import sys, json, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], 'rb'))))", path])
    guard result.status == 0 else { throw DeployTestFailure("\(path) is not valid TOML: \(result.output)") }
    return try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any] ?? [:]
}

func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    guard FileManager.default.isExecutableFile(atPath: executable) else {
        throw DeployTestFailure("\(executable) is missing (Debian: apt-get install python3 / systemd)")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

struct DeployTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
