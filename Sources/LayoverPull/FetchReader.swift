import LayoverWire
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Streams a span of a shared download to one client from the growing ingest file, as bytes land,
/// as file spans the front sends with `sendfile`: a slow reader costs neither memory nor copies.
///
/// One consumer at a time (`@unchecked Sendable` for that reason: its offset is not locked).
final class FetchReader: ChunkSource, @unchecked Sendable {
    private let fetch: InflightFetch
    private var offset: Int64
    private let end: Int64?
    private var handle: NIOFileHandle?
    /// The largest span handed out at once, so that a fast writer and slow readers interleave.
    static let maximumSpan: Int64 = 8 << 20

    /// Reads `[span.offset, span.offset + span.count)`, or to the end when `span` is nil.
    init(fetch: InflightFetch, span: ByteSpan?) {
        self.fetch = fetch
        self.offset = span?.offset ?? 0
        self.end = span.map { $0.offset + $0.count }
    }

    func nextChunk() async throws(PullError) -> BodyChunk? {
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
            if handle == nil {
                let copy = dup(file.fd)
                guard copy >= 0 else { throw .interrupted("cannot reopen the ingest file of \(fetch.digest)") }
                handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: copy)
            }
            let stop = min(limit, end ?? limit, offset + Self.maximumSpan)
            let chunk = BodyChunk.file(handle!, offset: offset, count: stop - offset)
            offset = stop
            return chunk
        }
    }

    func close() {
        try? handle?.close()
        handle = nil
    }
}
