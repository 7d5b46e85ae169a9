import AsyncHTTPClient
import LayoverMetrics
import LayoverWire
import NIOCore

/// Streams a blob straight from upstream to one client, uncached: used when the store has no room.
/// The digest is still verified; the last chunk is held back until it is, so a corrupt body never
/// reaches the client complete.
///
/// One consumer at a time.
final class PassThroughReader: ChunkSource, @unchecked Sendable {
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var hasher: DigestHasher
    private let expected: Digest
    private var heldBack: ByteBuffer?
    private var done = false
    private let upstream: String

    init(body: HTTPClientResponse.Body, expected: Digest, upstream: String) {
        self.upstream = upstream
        self.iterator = body.makeAsyncIterator()
        self.hasher = DigestHasher(expected.algorithm)
        self.expected = expected
    }

    func close() {}

    func nextChunk() async throws(PullError) -> BodyChunk? {
        if done { return nil }
        while true {
            let chunk: ByteBuffer?
            do {
                chunk = try await iterator.next()
            } catch {
                throw .interrupted("upstream body failed: \(error)")
            }
            guard let chunk else {
                done = true
                guard hasher.finalize() == expected else { throw .interrupted("upstream bytes do not match \(expected)") }
                return heldBack.map { .bytes($0) }
            }
            chunk.withUnsafeReadableBytes { hasher.update($0) }
            Telemetry.fetched(chunk.readableBytes, upstream: upstream)
            let previous = heldBack
            heldBack = chunk
            if let previous { return .bytes(previous) }
        }
    }
}
