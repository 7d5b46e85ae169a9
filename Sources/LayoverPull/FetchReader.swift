import LayoverWire
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Streams a span of a shared download to one client from the growing ingest file, as bytes land.
/// A slow reader costs disk reads, never memory.
///
/// One consumer at a time (`@unchecked Sendable` for that reason: its offset is not locked).
final class FetchReader: ChunkSource, @unchecked Sendable {
    private let fetch: InflightFetch
    private var offset: Int64
    private let end: Int64?
    private let allocator = ByteBufferAllocator()
    static let chunkSize: Int64 = 256 * 1024

    /// Reads `[span.offset, span.offset + span.count)`, or to the end when `span` is nil.
    init(fetch: InflightFetch, span: ByteSpan?) {
        self.fetch = fetch
        self.offset = span?.offset ?? 0
        self.end = span.map { $0.offset + $0.count }
    }

    func nextChunk() async throws(PullError) -> ByteBuffer? {
        if let end, offset >= end { return nil }
        let (action, file) = await fetch.nextAction(offset: offset)
        switch action {
        case .fail(let failure):
            throw .interrupted("download of \(fetch.digest) failed: \(failure)")
        case .finished:
            if let end, offset < end { throw .interrupted("download of \(fetch.digest) ended short") }
            return nil
        case .wait:
            preconditionFailure("nextAction never answers wait")
        case .read(let limit):
            guard let file else { throw .interrupted("no ingest file") }
            let stop = min(limit, end ?? limit, offset + Self.chunkSize)
            let wanted = Int(stop - offset)
            var buffer = allocator.buffer(capacity: wanted)
            let readOffset = offset
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { pointer in
                max(0, pread(file.fd, pointer.baseAddress, wanted, off_t(readOffset)))
            }
            guard count > 0 else { throw .interrupted("cannot read the ingest file of \(fetch.digest)") }
            offset += Int64(count)
            return buffer
        }
    }
}
