import NIOCore

/// A blob body produced chunk by chunk, pulled by the HTTP front as fast as the client takes it
/// (the next chunk is asked for only when the previous one was written): memory stays flat.
///
/// One consumer at a time.
public protocol ChunkSource: AnyObject, Sendable {
    /// The next chunk; nil when the body is complete. Throws `PullError.interrupted` when the
    /// body cannot be completed: the connection must then be closed short of a complete body.
    func nextChunk() async throws(PullError) -> ByteBuffer?
}
