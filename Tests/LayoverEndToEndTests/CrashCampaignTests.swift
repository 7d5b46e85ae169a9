import Foundation
import LayoverTestSupport
import Testing

/// The crash campaign: rounds of concurrent pushes (monolithic and chunked uploads) and pulls
/// while replication runs over a slow link, a SIGKILL at a random moment, and a restart on the
/// same store. Afterwards every push that got `201` is upstream byte for byte, `verify` finds the
/// store clean, and no client ever received a body that failed its digest.
///
/// CI runs 3 rounds; `loadtests/crash [ROUNDS]` runs the campaign (`LAYOVER_CRASH_ROUNDS`).
@Suite("Crash campaign", .endToEnd)
struct CrashCampaignTests {
    /// What the campaign saw, for its report.
    struct Tally {
        var rounds = 0
        var acknowledged: [(repository: String, content: PushTests.Content)] = []
        var refusedOrCut = 0
        var pulls = 0
        var badBodies = 0
    }

    static var rounds: Int { Int(ProcessInfo.processInfo.environment["LAYOVER_CRASH_ROUNDS"] ?? "") ?? 3 }

    @Test("rounds of pushes and pulls killed at random moments: nothing acknowledged is lost, nothing corrupt is served")
    func campaign() async throws {
        let registry = try await UpstreamRegistry()
        defer { registry.stop() }
        let relay = try await Relay(upstreamPort: registry.port, shape: .megabits(80))
        defer { relay.close() }
        let storage = try TemporaryDirectory()
        defer { storage.remove() }
        let layover = try await LayoverProcess(upstreamURL: relay.url, storage: storage.path + "/store")
        let tally = Shared(Tally())

        for round in 0..<Self.rounds {
            if round > 0 { try await layover.start() }
            let base = layover.url
            let work = Task {
                await withTaskGroup(of: Void.self) { group in
                    for client in 0..<4 {
                        group.addTask { await Self.pushLoop(base: base, round: round, client: client, tally: tally) }
                    }
                    group.addTask { await Self.pullLoop(base: base, tally: tally) }
                }
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 500...3000)))
            layover.stop(signal: SIGKILL)
            work.cancel()
            _ = await work.value
            tally.withLock { $0.rounds += 1 }
        }

        // The last start: the queue drains, then everything acknowledged must be upstream.
        try await layover.start()
        try await eventually(timeout: .seconds(180)) {
            let queue = try await TestHTTP.shared.get(layover.url + "/_layover/queue")
            // Jobs are "pending", "retrying", "running" or "dead": only dead ones may remain.
            return queue.status == 200 && ["pending", "retrying", "running"].allSatisfy { !queue.text.contains("\"\($0)\"") }
        }
        let queue = try await TestHTTP.shared.get(layover.url + "/_layover/queue")
        #expect(!queue.text.contains("\"dead\""), "dead jobs: \(queue.text)")
        let report = tally.withLock { $0 }
        var lost: [String] = []
        for (repository, content) in report.acknowledged
        where try await !PushTests.upstreamHolds(registry, repository, tag: "t", content) {
            lost.append(repository)
        }
        #expect(lost.isEmpty, "acknowledged pushes not upstream: \(lost)")
        #expect(report.badBodies == 0, "bodies that failed their digest: \(report.badBodies)")
        layover.stop(signal: SIGTERM)
        _ = try await layover.process?.waitForExit(timeout: .seconds(60))
        let verify = try await LayoverProcess.run(["verify", "--storage", storage.path + "/store"])
        #expect(verify.status == 0, "verify: \(verify.output)")
        print("crash campaign: rounds=\(report.rounds) kills=\(report.rounds) acknowledged=\(report.acknowledged.count) "
              + "lost=\(lost.count) refusedOrCut=\(report.refusedOrCut) pulls=\(report.pulls) badBodies=\(report.badBodies)")
    }

    /// Pushes images one after another (alternating monolithic and chunked uploads) until cancelled.
    static func pushLoop(base: String, round: Int, client: Int, tally: Shared<Tally>) async {
        var index = 0
        while !Task.isCancelled {
            index += 1
            let repository = "crash/r\(round)-c\(client)-i\(index)"
            let pusher = OCIPusher(base: "\(base)/v2/up/\(repository)")
            let content = PushTests.image(layerSizes: [Int.random(in: 20_000...400_000), Int.random(in: 1000...50_000)])
            do {
                for (number, blob) in (content.blobs + [content.config]).enumerated() {
                    if number % 2 == index % 2 {
                        try await pusher.pushBlobMonolithic(blob)
                    } else {
                        try await pusher.pushBlobChunked(blob, chunkSize: 64 << 10)
                    }
                }
                let answer = try await pusher.putManifest("t", content.manifest, mediaType: PushTests.ociManifest)
                tally.withLock {
                    if answer.status == 201 { $0.acknowledged.append((repository, content)) } else { $0.refusedOrCut += 1 }
                }
            } catch {
                tally.withLock { $0.refusedOrCut += 1 }
            }
        }
    }

    /// Pulls acknowledged images' blobs through Layover and checks every complete body's digest.
    static func pullLoop(base: String, tally: Shared<Tally>) async {
        while !Task.isCancelled {
            guard let (repository, content) = tally.withLock({ $0.acknowledged.randomElement() }) else {
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            let blob = content.blobs[0]
            guard let answer = try? await TestHTTP.shared.get("\(base)/v2/up/\(repository)/blobs/\(TestHTTP.digest(of: blob))"),
                  answer.status == 200 else { continue }
            // A body cut by the kill is short; a complete one must be the blob.
            let complete = answer.body.count == blob.count
            tally.withLock {
                $0.pulls += 1
                if complete, answer.body != blob { $0.badBodies += 1 }
                if answer.body.count > blob.count { $0.badBodies += 1 }
            }
        }
    }
}
