import Foundation
import LayoverTestSupport
import NIOHTTP1
import Testing

/// An upstream that refuses pushes, in every way registries do, never takes Layover down: each
/// replication step's refusal ends as a retry or a dead letter with its reason, and a restart
/// comes up cleanly with the dead jobs listed.
@Suite("Refused pushes", .endToEnd)
struct PushRefusalTests {
    static let steps = ["start", "blob", "manifest", "head"]
    static let statuses = ["401", "403", "404", "405", "413", "429", "500", "400-bare"]

    /// Refuses the step a repository's name asks for: `refuse/<step>-<status>[-bare]`.
    static func rule(_ method: HTTPMethod, _ uri: String) -> PushGate.Refusal? {
        guard let range = uri.range(of: "/v2/refuse/") else { return nil }
        let name = uri[range.upperBound...].prefix { $0 != "/" }
        let parts = name.split(separator: "-")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        let refusal = PushGate.Refusal(status: status, body: parts.count < 3)
        let isMount = uri.contains("mount=")
        switch parts[0] {
        case "start" where method == .POST && !isMount: return refusal
        case "mount" where method == .POST && isMount: return refusal
        case "blob" where method == .PUT && uri.contains("/blobs/uploads/"): return refusal
        case "manifest" where method == .PUT && uri.contains("/manifests/"): return refusal
        case "head" where method == .HEAD && uri.contains("/blobs/"): return refusal
        default: return nil
        }
    }

    static func jobs(_ url: String) async throws -> [[String: Any]] {
        let answer = try await TestHTTP.shared.get("\(url)/_layover/queue")
        return (try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["jobs"] as? [[String: Any]] ?? []
    }

    @Test("every refusal of every replication step ends as a retry or a dead letter; the process stays up and restarts cleanly")
    func refusals() async throws {
        let registry = try await UpstreamRegistry()
        defer { registry.stop() }
        let gate = try await PushGate(registry: registry.url, rule: Self.rule)
        defer { gate.close() }
        let storage = try TemporaryDirectory()
        defer { storage.remove() }
        let layover = try await LayoverProcess(upstreamURL: gate.url, storage: storage.path + "/store")
        defer { layover.stop(signal: SIGKILL) }

        var repositories: [String] = []
        for step in Self.steps { for status in Self.statuses { repositories.append("refuse/\(step)-\(status)") } }
        // A mount needs the blob known in another repository first; a refused mount falls back to an upload.
        let shared = PushTests.image(layerSizes: [20_000])
        #expect(try await PushTests.push(shared, to: OCIPusher(base: "\(layover.url)/v2/up/refuse/source"), tag: "v1").status == 201)
        try await eventually(timeout: .seconds(30)) { try await PushTests.upstreamHolds(registry, "refuse/source", tag: "v1", shared) }
        for repository in repositories {
            let content = PushTests.image(layerSizes: [10_000])
            let answer = try await PushTests.push(content, to: OCIPusher(base: "\(layover.url)/v2/up/\(repository)"), tag: "v1")
            #expect(answer.status == 201, "\(repository): \(answer.text)")
        }
        for status in ["403", "405", "500"] {
            let answer = try await PushTests.push(shared, to: OCIPusher(base: "\(layover.url)/v2/up/refuse/mount-\(status)"), tag: "v1")
            #expect(answer.status == 201)
        }

        // Every job has been tried at least once (or has reached the upstream). The states are
        // read from that one listing: a second one may catch a retry running.
        var jobs: [[String: Any]] = []
        try await eventually(timeout: .seconds(60)) {
            jobs = try await Self.jobs(layover.url)
            return jobs.allSatisfy { ($0["attempts"] as? Int ?? 0) > 0 && $0["state"] as? String != "running" }
        }
        #expect(try await TestHTTP.shared.get("\(layover.url)/healthz").status == 200, "the process must survive every refusal")
        for job in jobs {
            let repository = job["repository"] as? String ?? ""
            let error = job["lastError"] as? String ?? ""
            #expect(!error.isEmpty, "\(repository) failed without a reason: \(job)")
            #expect(!repository.hasPrefix("refuse/mount-"), "a refused mount falls back to an upload: \(job)")
            if ["403", "404", "405", "413"].contains(where: { repository.hasSuffix("-\($0)") }), !repository.hasPrefix("refuse/head-") {
                #expect(job["state"] as? String == "dead", "\(repository) is refused for good: \(job)")
            }
            if repository.hasSuffix("-401") {
                // Answered 401 again with a fresh token: the upstream refuses Layover, no retry cures it.
                #expect(job["state"] as? String == "dead" && error.contains("401"), "\(repository) is refused for good: \(job)")
            }
            if repository.hasSuffix("-429") || repository.hasSuffix("-500") {
                #expect(job["state"] as? String == "retrying", "\(repository) is worth retrying: \(job)")
            }
        }
        #expect(gate.refusals.contains { $0.contains("mount=") }, "the mounts were tried")
        for status in ["403", "405", "500"] {
            try await eventually(timeout: .seconds(20)) {
                try await PushTests.upstreamHolds(registry, "refuse/mount-\(status)", tag: "v1", shared)
            }
        }

        // A restart comes up and serves, the dead jobs still listed with their reasons.
        let dead = jobs.filter { $0["state"] as? String == "dead" }.count
        #expect(dead >= 16)
        layover.stop(signal: SIGKILL)
        try await layover.start()
        #expect(try await TestHTTP.shared.get("\(layover.url)/healthz").status == 200)
        let after = try await Self.jobs(layover.url)
        #expect(after.filter { $0["state"] as? String == "dead" }.count == dead)
        try await Task.sleep(for: .seconds(3))
        #expect(try await TestHTTP.shared.get("\(layover.url)/healthz").status == 200, "still up once the queue has run again")
    }
}
