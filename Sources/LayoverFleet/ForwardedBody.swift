import AsyncHTTPClient
import LayoverPull
import NIOCore

/// The body of an owner's answer, relayed to the client as it arrives (the next piece is read
/// only once the previous one was written). A break is `interrupted`: the client's connection is
/// closed short of a complete body.
///
/// One consumer at a time.
public final class ForwardedBody: ChunkSource, @unchecked Sendable {
    private var iterator: HTTPClientResponse.Body.AsyncIterator

    public init(_ body: HTTPClientResponse.Body) {
        iterator = body.makeAsyncIterator()
    }

    public func nextChunk() async throws(PullError) -> BodyChunk? {
        do {
            return try await iterator.next().map { .bytes($0) }
        } catch {
            throw .interrupted("the owner's answer broke: \(error)")
        }
    }

    public func close() {}
}
