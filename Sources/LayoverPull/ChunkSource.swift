import NIOCore

/// A piece of a streamed body: bytes in memory, or a span of a file to send with `sendfile`.
public enum BodyChunk: Sendable {
    case bytes(ByteBuffer)
    /// `count` bytes at `offset` of the file behind `handle`. The handle belongs to the source and
    /// stays open until the source is closed.
    case file(NIOFileHandle, offset: Int64, count: Int64)
}

/// A blob body produced piece by piece, pulled by the HTTP front as fast as the client takes it
/// (the next piece is asked for only when the previous one was written): memory stays flat.
///
/// One consumer at a time; the consumer calls `close()` once it is done, whatever the outcome.
public protocol ChunkSource: AnyObject, Sendable {
    /// The next piece; nil when the body is complete. Throws `PullError.interrupted` when the
    /// body cannot be completed: the connection must then be closed short of a complete body.
    func nextChunk() async throws(PullError) -> BodyChunk?

    /// Releases what the source holds (file handles); no piece may be used afterwards.
    func close()
}
