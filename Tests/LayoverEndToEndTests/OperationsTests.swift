import Foundation
import LayoverTestSupport
import Testing

/// `layover verify`, `layover warm` and the graceful stop, on real processes.
@Suite("Operations", .endToEnd)
struct OperationsTests {
    @Test("verify finds a blob corrupted on disk, quarantines it, and the next pull fetches it again")
    func verifyQuarantinesCorruptBlob() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let (good, bad) = try await Self.storeTwoBlobs(fixture)

        let whileServing = try await LayoverProcess.run(["verify", "--storage", fixture.layover.storage])
        #expect(whileServing.status != 0)
        #expect(whileServing.output.contains("held by another process"), "\(whileServing.output)")

        fixture.layover.stop(signal: SIGTERM)
        try fixture.flipByte(of: bad)

        let first = try await LayoverProcess.run(["verify", "--storage", fixture.layover.storage])
        #expect(first.status == 1, "\(first.output)")
        #expect(first.output.contains("CORRUPT \(bad)"), "\(first.output)")
        #expect(!first.output.contains("CORRUPT \(good)"))
        #expect(first.output.contains("verified 2 blobs"), "\(first.output)")
        #expect(FileManager.default.fileExists(atPath: fixture.layover.storage + "/quarantine/sha256-\(bad.dropFirst(7))"))
        #expect(!fixture.storedBlobs().contains(bad))

        let second = try await LayoverProcess.run(["verify", "--storage", fixture.layover.storage])
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("verified 1 blobs"), "\(second.output)")

        try await fixture.layover.start()
        let before = fixture.relay.bytesFromUpstream
        let again = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(bad)")
        #expect(again.digest == bad)
        #expect(fixture.relay.bytesFromUpstream - before >= 200_000, "the quarantined blob came from upstream again")
    }

    @Test("verify --server re-hashes a running Layover's store: a blob corrupted on disk is reported and quarantined, the next GET fetches it again")
    func verifyThroughServer() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let (good, bad) = try await Self.storeTwoBlobs(fixture)
        try fixture.flipByte(of: bad)

        let first = try await LayoverProcess.run(["verify", "--server", fixture.layover.url])
        #expect(first.status == 1, "\(first.output)")
        #expect(first.output.contains("CORRUPT \(bad): content hashes to sha256:"), "\(first.output)")
        #expect(!first.output.contains("CORRUPT \(good)"))
        #expect(first.output.contains("verified 2 blobs"), "\(first.output)")
        #expect(FileManager.default.fileExists(atPath: fixture.layover.storage + "/quarantine/sha256-\(bad.dropFirst(7))"))
        #expect(!fixture.storedBlobs().contains(bad))
        #expect(fixture.layover.process?.isRunning == true, "the server kept serving")

        let before = fixture.relay.bytesFromUpstream
        let again = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(bad)")
        #expect(again.digest == bad)
        #expect(again.count == 200_000)
        #expect(fixture.relay.bytesFromUpstream - before >= 200_000, "the quarantined blob came from upstream again")

        let second = try await LayoverProcess.run(["verify", "--server", fixture.layover.url])
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("verified 2 blobs"), "\(second.output)")
        #expect(second.output.contains(": 0 corrupt"), "\(second.output)")
        let report = try await TestHTTP.shared.get("\(fixture.layover.url)/_layover/verify?pass=1")
        #expect(report.status == 200)
        #expect(report.text.contains("\"digest\" : \"\(bad)\""), "\(report.text)")
    }

    @Test("the background scrub (scrubBytesPerSecond) finds a blob corrupted on disk and takes it out of service")
    func backgroundScrub() async throws {
        let fixture = try await Fixture(layoverEnvironment: ["LAYOVER_SCRUB_BYTES_PER_SECOND": "64MiB"])
        defer { fixture.shutdown() }
        let bad = try await fixture.seeder.pushBlob("team/app", randomBytes(1 << 20))
        _ = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(bad)")
        fixture.layover.stop(signal: SIGTERM)
        try fixture.flipByte(of: bad)

        // The first pass starts with the server.
        try await fixture.layover.start()
        try await eventually(timeout: .seconds(30)) { fixture.layover.log.contains("scrub quarantined a corrupt blob") }
        #expect(fixture.layover.log.contains("digest=\(bad)"), "\(fixture.layover.log)")
        let metrics = try await TestHTTP.shared.get("\(fixture.layover.url)/metrics")
        #expect(metrics.text.contains("layover_scrub_quarantined_total 1"), "\(metrics.text)")

        let again = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(bad)")
        #expect(again.digest == bad)
    }

    /// Two blobs (300,000 and 200,000 bytes) pulled through Layover, so both are in its store.
    @Test("after a crash, a stored file cut short is found once the server is up: quarantined, and the next pull fetches it again")
    func sizeCheckAfterACrash() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let (good, bad) = try await Self.storeTwoBlobs(fixture)
        fixture.layover.stop(signal: SIGKILL)
        let path = fixture.layover.storage + "/blobs/sha256/\(bad.dropFirst(7).prefix(2))/\(bad.dropFirst(7))"
        #expect(truncate(path, 1_000) == 0)

        try await fixture.layover.start()
        let quarantined = fixture.layover.storage + "/quarantine/sha256-\(bad.dropFirst(7))"
        try await eventually(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: quarantined) }
        #expect(fixture.storedBlobs().contains(good))
        let before = fixture.relay.bytesFromUpstream
        let again = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(bad)")
        #expect(again.digest == bad)
        #expect(fixture.relay.bytesFromUpstream - before >= 200_000, "the quarantined blob came from upstream again")
    }

    static func storeTwoBlobs(_ fixture: Fixture) async throws -> (good: String, bad: String) {
        let good = try await fixture.seeder.pushBlob("team/app", randomBytes(300_000))
        let bad = try await fixture.seeder.pushBlob("team/app", randomBytes(200_000))
        for digest in [good, bad] { _ = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(digest)") }
        return (good, bad)
    }

    @Test("warm through a running Layover fills the store: the following pull moves no upstream bytes")
    func warmThroughServer() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/app", tag: "v1", layerSizes: [2 << 20, 500_000])

        let warm = try await LayoverProcess.run(["warm", "--server", fixture.layover.url, "up/team/app:v1"])
        #expect(warm.status == 0, "\(warm.output)")
        #expect(warm.output.contains("warmed up/team/app:v1: 1 manifests, 3 blobs"), "\(warm.output)")
        #expect(fixture.storedBlobs().isSuperset(of: Set([image.configDigest] + image.layers.map(\.digest))))

        let before = fixture.relay.bytesFromUpstream
        let pulled = try await Skopeo.copy(fixture.reference("team/app", "v1"),
                                           into: try TemporaryDirectory().path)
        #expect(pulled.count == 4, "manifest, config, two layers")
        #expect(fixture.relay.bytesFromUpstream - before < 4096, "only the tag revalidation went upstream")

        let missing = try await LayoverProcess.run(["warm", "--server", fixture.layover.url, "up/team/none:v1"])
        #expect(missing.status == 1)
        #expect(missing.output.contains("FAILED up/team/none:v1"), "\(missing.output)")
    }

    @Test("warm straight into a store (no server running) fills it for the next start")
    func warmIntoStore() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let image = try await fixture.seeder.pushImage("team/cache", tag: "buildcache", layerSizes: [1 << 20, 1 << 20])
        fixture.layover.stop(signal: SIGTERM)

        let warm = try await LayoverProcess.run([
            "warm", "--storage", fixture.layover.storage, "--upstream", "up=\(fixture.relay.url)",
            "--default-upstream", "up", "team/cache:buildcache",
        ])
        #expect(warm.status == 0, "\(warm.output)")
        #expect(fixture.storedBlobs().isSuperset(of: Set([image.configDigest] + image.layers.map(\.digest))))

        try await fixture.layover.start()
        let before = fixture.relay.bytesFromUpstream
        for layer in image.layers {
            let blob = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/cache"))/blobs/\(layer.digest)")
            #expect(blob.digest == layer.digest)
        }
        #expect(fixture.relay.bytesFromUpstream == before, "the layers came from the warmed store")
    }

    @Test("SIGTERM during a large download: no new connections, the download completes, exit 0")
    func gracefulStopDuringDownload() async throws {
        let fixture = try await Fixture(layoverEnvironment: ["LAYOVER_LOG_LEVEL": "info"])
        defer { fixture.shutdown() }
        let size = 48 << 20
        let digest = try await fixture.seeder.pushBlob("team/app", randomBytes(size))
        _ = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(digest)")
        let path = "/v2/up/team/app/blobs/\(digest)"
        let port = try #require(fixture.layover.url.split(separator: ":").last.flatMap { Int($0) })
        let process = try #require(fixture.layover.process)

        // A slow reader (32 KiB every 2 ms at most, a small receive buffer): the download lasts
        // seconds. On a thread of its own, and the stop only once its answer has begun: on a busy
        // machine a reader in a task could start after the stop (seen in a whole-suite run).
        let started = Shared(false)
        async let download = onThread { try SlowReader.get(port: port, path: path) { started.withLock { $0 = true } } }
        try await eventually(timeout: .seconds(30)) { started.withLock { $0 } }
        kill(process.process.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        #expect(process.process.isRunning, "the download in progress holds the exit back: \(process.output)")
        await #expect(throws: (any Error).self, "the listener is closed") {
            _ = try await TestHTTP.shared.get("\(fixture.layover.url)/v2/")
        }

        let received = try await download
        #expect(received.status == 200)
        #expect(received.count == size)
        #expect(received.digest == digest)
        #expect(try await process.waitForExit(timeout: .seconds(30)) == 0, "\(process.output)")
        #expect(process.output.contains("stopped"))
    }

    @Test("--event-loops sets the number of event-loop threads; by default one per core", arguments: [1, 3, nil])
    func eventLoopThreads(_ loops: Int?) async throws {
        let fixture = try await Fixture(layoverArguments: loops.map { ["--event-loops", String($0)] } ?? [])
        defer { fixture.shutdown() }
        // Answered through them: the front is up on however many there are.
        #expect(try await TestHTTP.shared.get("\(fixture.layover.url)/v2/").status == 200)
        let pid = try #require(fixture.layover.process).process.processIdentifier
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        let names = tasks.compactMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8) }
        // NIO names the threads of its shared event-loop group "NIO-SGLTN-<group>-#<n>".
        let eventLoops = names.filter { $0.hasPrefix("NIO-SGLTN-") }.count
        #expect(eventLoops == loops ?? ProcessInfo.processInfo.activeProcessorCount, "threads: \(names.sorted())")
    }
}
