import Foundation
import LayoverTestSupport
import Testing

/// The replication queue loads the jobs a restart left before the front accepts a push that could
/// supersede them (issue 15, found by reading): a push accepted earlier cannot drop the job it
/// replaces from a queue that does not hold it yet, and that job, loaded afterwards, would
/// overwrite the newer tag upstream.
@Suite("Replication startup", .endToEnd)
struct ReplicationStartupTests {
    @Test("a push racing the restart supersedes the job left from before it: that job never overwrites the tag upstream")
    func pushDuringStartup() async throws {
        let registry = try await UpstreamRegistry()
        defer { registry.stop() }
        let storage = try TemporaryDirectory()
        defer { storage.remove() }
        let store = storage.path + "/store"
        let older = PushTests.image(layerSizes: [1000]), newer = PushTests.image(layerSizes: [1000])

        // Before the restart: the older image's job waits for an upstream that refuses connections;
        // the newer image's blobs are uploaded, its manifest not yet.
        let before = try await LayoverProcess(upstreamURL: "http://127.0.0.1:1", storage: store)
        let pusher = OCIPusher(base: "\(before.url)/v2/up/team/app")
        #expect(try await PushTests.push(older, to: pusher, tag: "t").status == 201)
        for blob in newer.blobs + [newer.config] { try await pusher.pushBlobMonolithic(blob) }
        before.stop()

        // The older job failed before and is due again in 4 s; 20,000 dead jobs (an upstream that
        // refused pushes for days) make loading the queue take a while.
        let due = Date().timeIntervalSince1970 + 4
        let backlog = try TestProcess(executable: "/usr/bin/python3",
                                      arguments: ["-c", Self.backlogScript, store + "/index.sqlite", String(due), "20000"])
        #expect(try await backlog.waitForExit() == 0, "\(backlog.output)")

        let port = try freePort()
        let after = try TestProcess(executable: try LayoverProcess.binary(), arguments: [
            "serve", "--listen", "127.0.0.1:\(port)", "--storage", store, "--upstream", "up=\(registry.url)", "--default-upstream", "up",
        ], environment: ProcessInfo.processInfo.environment.merging(["LAYOVER_LOG_LEVEL": "info"]) { $1 })
        defer { after.stop(signal: SIGKILL) }
        // The newer manifest is pushed the moment the port accepts a connection.
        let answer = try await Task.detached {
            try Self.putWhenListening(port: port, path: "/v2/up/team/app/manifests/t", body: newer.manifest,
                                      mediaType: PushTests.ociManifest, process: after)
        }.value
        #expect(RawHTTP.status(of: answer) == 201, "\(answer)")
        try await eventually(timeout: .seconds(30)) { try await PushTests.upstreamHolds(registry, "team/app", tag: "t", newer) }

        // Past the older job's due time, with time for it to run had it stayed in the queue.
        try await Task.sleep(for: .seconds(max(0, due + 3 - Date().timeIntervalSince1970)))
        #expect(try await PushTests.upstreamHolds(registry, "team/app", tag: "t", newer),
                "the superseded job overwrote the newer tag upstream: \(after.output.suffix(2000))")
        let pulled = try await TestHTTP.shared.get("http://127.0.0.1:\(port)/v2/up/team/app/manifests/t",
                                                   headers: [("Accept", PushTests.ociManifest)])
        #expect(TestHTTP.digest(of: pulled.body) == newer.digest, "Layover serves the newer image")
    }

    /// Sets every recorded job due at argv[2] (and not in progress), then adds argv[3] dead jobs.
    static let backlogScript = """
        import sqlite3, sys
        path, due, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
        db = sqlite3.connect(path)
        db.execute("UPDATE replicationJob SET nextAttemptAt = ?", (due,))
        if "inProgress" in [column[1] for column in db.execute("PRAGMA table_info(replicationJob)")]:
            db.execute("UPDATE replicationJob SET inProgress = 0")
        db.executemany(
            "INSERT INTO replicationJob (upstream, repository, tag, manifestDigest, mediaType, state, attempts, nextAttemptAt, lastError, createdAt)"
            " VALUES ('up', 'team/dead', NULL, ?, 'application/vnd.oci.image.manifest.v1+json', 'dead', 1000, 0, 'refused', 0)",
            [("sha256:%064x" % index,) for index in range(count)])
        db.commit()
        """

    /// Connects to `port` until it accepts (while `process` runs), then sends a manifest PUT and
    /// reads the answer. Blocking.
    static func putWhenListening(port: Int, path: String, body: [UInt8], mediaType: String, process: TestProcess) throws -> String {
        let deadline = Date().addingTimeInterval(60)
        while true {
            if let connection = try? RawHTTP(port: port) {
                connection.write("PUT \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nContent-Type: \(mediaType)\r\n"
                                 + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n")
                connection.write(body)
                return connection.readAll()
            }
            guard process.isRunning, Date() < deadline else { throw TestFailure("layover never listened: \(process.output)") }
            usleep(500)
        }
    }
}
