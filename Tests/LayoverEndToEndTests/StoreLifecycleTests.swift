import Foundation
import LayoverTestSupport
import Testing

/// The store under its budget and across restarts.
@Suite("Store lifecycle")
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

    @Test("a restart keeps the store and its recency")
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
        try await fixture.layover.start()

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
        #expect(fixture.ingestFiles().isEmpty)
        let whole = try await TestHTTP.shared.streamedDigest("\(fixture.url("team/app"))/blobs/\(digest)")
        #expect(whole.count == size)
        #expect(whole.digest == digest)
    }
}
