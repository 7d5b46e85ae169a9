import Foundation
import LayoverTestSupport
import Testing

/// The store under its budget and across restarts.
@Suite("Store lifecycle", .endToEnd)
struct StoreLifecycleTests {
    @Test("a store over budget evicts the least recently used blob")
    func evictsLeastRecentlyUsed() async throws {
        let fixture = try await Fixture(layoverArguments: ["--max-bytes", "10MiB"])
        defer { fixture.shutdown() }
        var digests: [String] = []
        for _ in 0..<3 { digests.append(try await fixture.seeder.pushBlob("team/app", randomBytes(4 << 20))) }
        let (a, b, c) = (digests[0], digests[1], digests[2])
        let base = fixture.url("team/app")

        _ = try await TestHTTP.shared.streamedDigest("\(base)/blobs/\(a)")
        _ = try await TestHTTP.shared.streamedDigest("\(base)/blobs/\(b)")
        try await Task.sleep(for: .milliseconds(10))
        _ = try await TestHTTP.shared.streamedDigest("\(base)/blobs/\(a)")
        let fetched = try await TestHTTP.shared.streamedDigest("\(base)/blobs/\(c)")
        #expect(fetched.digest == c)

        try await eventually { !fixture.storedBlobs().contains(b) }
        #expect(fixture.storedBlobs().isSuperset(of: [a, c]))
    }

    @Test("a restart keeps the store and its recency; after SIGTERM the store opens without reading its blob directories")
    func restartKeepsStoreAndRecency() async throws {
        let fixture = try await Fixture(layoverArguments: ["--max-bytes", "10MiB"])
        defer { fixture.shutdown() }
        var digests: [String] = []
        for _ in 0..<3 { digests.append(try await fixture.seeder.pushBlob("team/app", randomBytes(4 << 20))) }
        let (a, b, c) = (digests[0], digests[1], digests[2])
        let base = { fixture.url("team/app") }

        _ = try await TestHTTP.shared.streamedDigest("\(base())/blobs/\(b)")
        try await Task.sleep(for: .milliseconds(10))
        _ = try await TestHTTP.shared.streamedDigest("\(base())/blobs/\(a)")
        fixture.layover.stop(signal: SIGTERM)
        #expect(FileManager.default.fileExists(atPath: fixture.storage.path + "/store/clean-shutdown"), "a clean stop leaves its mark")
        try await fixture.layover.start()
        #expect(fixture.layover.log.contains("afterCleanShutdown=true"), "\(fixture.layover.log)")
        #expect(!FileManager.default.fileExists(atPath: fixture.storage.path + "/store/clean-shutdown"))

        let before = fixture.relay.bytesFromUpstream
        let head = try await TestHTTP.shared.head("\(base())/blobs/\(a)")
        #expect(head.status == 200)
        #expect(fixture.relay.bytesFromUpstream == before, "a restarted Layover answers from its store")

        _ = try await TestHTTP.shared.streamedDigest("\(base())/blobs/\(c)")
        try await eventually { !fixture.storedBlobs().contains(b) }
        #expect(fixture.storedBlobs().isSuperset(of: [a, c]), "recency from before the restart decides: b was older than a")

        let warm = fixture.relay.bytesFromUpstream
        let again = try await TestHTTP.shared.streamedDigest("\(base())/blobs/\(a)")
        #expect(again.digest == a)
        #expect(fixture.relay.bytesFromUpstream == warm)
    }

    @Test("a crash (kill -9) mid-download leaves a consistent store that serves afterwards")
    func crashMidDownload() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let size = 16 << 20
        let digest = try await fixture.seeder.pushBlob("team/app", randomBytes(size))
        let port = Int(fixture.layover.url.split(separator: ":").last!)!
        try await RawClient.readThenVanish(port: port, path: "/v2/up/team/app/blobs/\(digest)", bytes: 1 << 20)
        fixture.layover.stop(signal: SIGKILL)
        try await fixture.layover.start()
        #expect(fixture.layover.log.contains("afterCleanShutdown=false"), "a crash's files are checked in full")
        #expect(fixture.ingestFiles().isEmpty)
        let whole = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(digest)")
        #expect(whole.count == size)
        #expect(whole.digest == digest)
    }

    @Test("a blob file whose index row was lost (a crash between rename and commit) is adopted after the restart: served with no upstream download; a corrupt one is quarantined and fetched again")
    func restartAdoptsFileWithoutRow() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let kept = try await fixture.seeder.pushBlob("team/app", randomBytes(3 << 20))
        let corrupt = try await fixture.seeder.pushBlob("team/app", randomBytes(1 << 20))
        for digest in [kept, corrupt] { _ = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(digest)") }
        // A crash: after a clean stop the next start would trust the index and not look for files.
        fixture.layover.stop(signal: SIGKILL)

        // What a crash after the rename into blobs/ and before the index commit leaves: files
        // without rows, nor the links written after them (one of them damaged as well).
        let storage = fixture.layover.storage
        let deleted = try TestProcess(executable: "/usr/bin/python3", arguments: [
            "-c", Self.deleteRows, storage + "/index.sqlite", kept, corrupt,
        ])
        #expect(try await deleted.waitForExit() == 0, "\(deleted.output)")
        #expect(deleted.output.contains("2"), "\(deleted.output)")
        try fixture.flipByte(of: corrupt, at: 4096)

        try await fixture.layover.start()
        // The check runs beside serving: the start reads no blob directory.
        try await eventually(timeout: .seconds(30)) { fixture.layover.log.contains("stored files checked after a crash") }
        #expect(fixture.layover.log.contains("filesAdopted=1"), "\(fixture.layover.log)")
        #expect(fixture.layover.log.contains("quarantined=1"), "\(fixture.layover.log)")
        #expect(FileManager.default.fileExists(atPath: storage + "/quarantine/sha256-\(corrupt.dropFirst(7))"))

        let before = fixture.relay.bytesFromUpstream
        let served = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(kept)")
        #expect(served.digest == kept)
        #expect(served.count == 3 << 20)
        // The repository's link went with the row: the upstream is asked again whether it holds
        // the blob (a HEAD), and the 3 MiB come from the store.
        #expect(fixture.relay.bytesFromUpstream - before < 64 << 10, "the adopted blob came from the store")

        let refetched = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(corrupt)")
        #expect(refetched.digest == corrupt)
        #expect(fixture.relay.bytesFromUpstream - before >= 1 << 20, "the quarantined blob came from the upstream again")
    }

    /// Deletes the index rows of the digests given after the index's path, and their repository
    /// links; prints how many rows went.
    private static let deleteRows = """
        import sqlite3, sys
        db = sqlite3.connect(sys.argv[1])
        for d in sys.argv[2:]:
            db.execute("DELETE FROM repositoryLink WHERE digest = ?", (d,))
        count = sum(db.execute("DELETE FROM blob WHERE digest = ?", (d,)).rowcount for d in sys.argv[2:])
        db.commit()
        print(count)
        """
}
