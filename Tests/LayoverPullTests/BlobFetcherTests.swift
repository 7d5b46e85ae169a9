import Foundation
import LayoverLocks
import LayoverMetrics
import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging
import NIOCore
import Testing
@testable import LayoverPull

/// `BlobFetcher.join` decides in one lock section whether a caller may read a running download:
/// a download through another repository is never joined before the caller's repository is confirmed.
@Suite("BlobFetcher")
final class BlobFetcherTests {
    let root = "/tmp/layover-fetcher-tests-\(UUID().uuidString)"
    let upstream = SilentListener()
    let digest = Digest.sha256(of: Array("layer".utf8))
    let first = RepositoryKey(upstream: "up", repository: try! RepositoryName("team/private"))
    let second = RepositoryKey(upstream: "up", repository: try! RepositoryName("team/other"))

    deinit {
        upstream.close()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A fetcher whose downloads hang: the upstream accepts connections and never answers.
    func fetcher(peers: (any BlobPeers)? = nil) throws -> (BlobFetcher, RegistryClient) {
        let (fetcher, client, _) = try fetcherAndStore(peers: peers)
        return (fetcher, client)
    }

    func fetcherAndStore(peers: (any BlobPeers)? = nil) throws -> (BlobFetcher, RegistryClient, BlobStore) {
        let store = try BlobStore(layout: StoreLayout(root: root), budget: StoreBudget(maxBytes: 1 << 30),
                                  availableBytes: { _ in 1 << 40 })
        let client = RegistryClient(upstream: UpstreamConfiguration(name: "up", url: "http://127.0.0.1:\(upstream.port)"),
                                    http: Self.http, retryPolicy: RetryPolicy(attempts: 1))
        return (BlobFetcher(store: store, peers: peers, logger: Logger(label: "test")), client, store)
    }

    /// One client for the process: an HTTPClient must be shut down before it is freed.
    static let http = RegistryClient.makeHTTPClient()

    @Test func aDownloadThroughAnotherRepositoryIsJoinedOnlyOnceConfirmed() throws {
        let (fetcher, client) = try fetcher()
        guard case .joined(let started, started: true) = fetcher.join(digest, repository: first, client: client, confirmed: false) else {
            Issue.record("the first caller starts the download")
            return
        }
        guard case .confirmFirst = fetcher.join(digest, repository: second, client: client, confirmed: false) else {
            Issue.record("another repository must be confirmed before it joins")
            return
        }
        guard case .joined(let joined, started: false) = fetcher.join(digest, repository: second, client: client, confirmed: true) else {
            Issue.record("once confirmed, the other repository joins the running download")
            return
        }
        #expect(joined === started)
        guard case .joined(let same, started: false) = fetcher.join(digest, repository: first, client: client, confirmed: false) else {
            Issue.record("the same repository joins without confirmation")
            return
        }
        #expect(same === started)
    }

    /// A caller that found the blob missing, then waited (the upstream's confirmation of its
    /// repository, or only its turn), may come to `join` after the download committed and left:
    /// it is told the blob is stored, and no second download starts. Seen in a fleet test: a
    /// layer shared by two repositories crossed the upstream link twice, with no peer error.
    @Test func aDigestStoredMeanwhileIsNotDownloadedAgain() async throws {
        let (fetcher, client, store) = try fetcherAndStore()
        _ = try await store.put(Array("layer".utf8), digest: digest, mediaType: nil)
        for confirmed in [false, true] {
            guard case .stored = fetcher.join(digest, repository: second, client: client, confirmed: confirmed) else {
                Issue.record("a stored digest starts no download (confirmed: \(confirmed))")
                return
            }
        }
    }

    @Test func aMissIsFilledFromAPeerAndTheDigestVerified() async throws {
        let bytes = Array("layer".utf8)
        let peers = FakePeers(body: bytes)
        let (fetcher, client) = try fetcher(peers: peers)
        guard case .joined(let fetch, started: true) = fetcher.join(digest, repository: first, client: client, confirmed: false) else {
            Issue.record("the first caller starts the download")
            return
        }
        // The upstream never answers: only the peer's bytes can complete it.
        guard case .success = await fetch.waitForEnd() else {
            Issue.record("the peer's bytes are committed")
            return
        }
        #expect(peers.asked.withLock { $0 } == 1)
    }

    @Test("a peer body that breaks mid-blob counts as a peer error: the rest crosses the upstream link")
    func aPeerBodyThatBreaksIsAPeerError() async throws {
        let peers = FakePeers(body: Array("layer".utf8), breaking: true)
        let (fetcher, client) = try fetcher(peers: peers)
        let before = Telemetry.fleet.snapshot.peerErrors
        guard case .joined(_, started: true) = fetcher.join(digest, repository: first, client: client, confirmed: false) else {
            Issue.record("the first caller starts the download")
            return
        }
        // The upstream never answers the resume: only the count is awaited.
        let deadline = ContinuousClock.now + .seconds(10)
        while Telemetry.fleet.snapshot.peerErrors == before, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(Telemetry.fleet.snapshot.peerErrors > before)
        #expect(peers.asked.withLock { $0 } == 1)
    }

    @Test func aPeerWhoseBytesFailTheDigestIsNotAskedForThatDigestAgain() async throws {
        let peers = FakePeers(body: Array("LAYER".utf8))
        let (fetcher, client) = try fetcher(peers: peers)
        guard case .joined(let fetch, started: true) = fetcher.join(digest, repository: first, client: client, confirmed: false),
              case .failure(.corrupt) = await fetch.waitForEnd() else {
            Issue.record("bytes that fail the digest are rejected")
            return
        }
        // The next download of the digest goes to the upstream, not the peer; other digests still may.
        #expect(!fetcher.asksPeers(for: digest))
        #expect(fetcher.asksPeers(for: Digest.sha256(of: Array("other".utf8))))
        #expect(peers.asked.withLock { $0 } == 1)
    }
}

/// Peers that answer every blob with `body`, counting the questions; with `breaking`, the body
/// stops with an error after its first half.
final class FakePeers: BlobPeers {
    let body: [UInt8]
    let breaking: Bool
    let asked = Locked<Int>(0)

    init(body: [UInt8], breaking: Bool = false) {
        self.body = body
        self.breaking = breaking
    }

    struct Broke: Error {}

    func download(_ digest: Digest, repository: RepositoryKey) async -> BlobDownload? {
        asked.withLock { $0 += 1 }
        guard breaking else { return BlobDownload(size: Int64(body.count), body: .bytes(ByteBuffer(bytes: body))) }
        let half = ByteBuffer(bytes: body.prefix(body.count / 2))
        let stream = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
            continuation.yield(half)
            continuation.finish(throwing: Broke())
        }
        return BlobDownload(size: Int64(body.count), body: .stream(stream))
    }

    /// Blobs only: every manifest miss goes upstream.
    func manifest(_ digest: Digest, repository: RepositoryKey, accept: [String]) async -> Manifest? { nil }
}

/// A TCP listener on 127.0.0.1 that never accepts: connections complete in the backlog and
/// requests are never answered.
final class SilentListener: Sendable {
    let fd: Int32
    let port: Int

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        listen(fd, 16)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { Glibc.close(fd) }
}
