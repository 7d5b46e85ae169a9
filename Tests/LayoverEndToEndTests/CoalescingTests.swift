import Foundation
import LayoverTestSupport
import NIOCore
import NIOPosix
import Testing

/// Concurrent misses for one blob share one upstream fetch and stream to every client.
@Suite("Coalesced misses", .endToEnd)
struct CoalescingTests {
    @Test("32 concurrent cold GETs of one 64 MiB blob: one upstream fetch, 32 correct bodies")
    func herdOnOneBlob() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let size = 64 << 20
        let blob = randomBytes(size)
        let digest = try await fixture.seeder.pushBlob("team/big", blob)
        let before = fixture.relay.bytesFromUpstream

        let results = try await withThrowingTaskGroup(of: (Int, Int, String).self) { group in
            for _ in 0..<32 {
                group.addTask { try await TestHTTP.shared.streamedDigest("\(fixture.url("team/big"))/blobs/\(digest)") }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 32)
        for (status, count, received) in results {
            #expect(status == 200)
            #expect(count == size)
            #expect(received == digest)
        }
        let moved = fixture.relay.bytesFromUpstream - before
        #expect(moved >= size)
        #expect(moved < size + 256 * 1024, "32 clients moved \(moved) upstream bytes for one \(size)-byte blob")
        #expect(fixture.storedBlobs().contains(digest))
    }

    @Test("a client that vanishes mid-stream does not stop the shared download for the others")
    func vanishingClient() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let size = 32 << 20
        let digest = try await fixture.seeder.pushBlob("team/big", randomBytes(size))
        let url = "\(fixture.url("team/big"))/blobs/\(digest)"
        let port = fixture.port

        async let survivor = TestHTTP.shared.streamedDigest(url)
        try await RawClient.readThenVanish(port: port, path: "/v2/up/team/big/blobs/\(digest)", bytes: 1 << 20)
        let (status, count, received) = try await survivor
        #expect(status == 200)
        #expect(count == size)
        #expect(received == digest)
        let before = fixture.relay.bytesFromUpstream
        let warm = try await TestHTTP.shared.streamedDigest(url)
        #expect(warm.digest == digest)
        #expect(fixture.relay.bytesFromUpstream - before < 16 * 1024)
    }
}

/// A bare TCP client, for behaviour a well-mannered HTTP client does not show.
enum RawClient {
    /// Sends a GET, reads about `bytes` bytes of the answer, then closes the socket.
    static func readThenVanish(port: Int, path: String, bytes: Int) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n"))
            var received = 0
            for try await chunk in inbound {
                received += chunk.readableBytes
                if received >= bytes { break }
            }
        }
    }

    /// Sends raw request text and returns everything the server sends until it closes or
    /// `limit` bytes arrived.
    static func exchange(port: Int, _ text: String, limit: Int = 1 << 20) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: text))
            var received = ByteBuffer()
            for try await var chunk in inbound {
                received.writeBuffer(&chunk)
                if received.readableBytes >= limit { break }
            }
            return String(buffer: received)
        }
    }
}
