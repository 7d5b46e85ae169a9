import LayoverWire
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Streams a shared download to one client from the growing ingest file, as bytes land, as file
/// spans the front sends with `sendfile`: a slow reader costs neither memory nor copies. Only the
/// whole body is streamed this way (see `FetchMachine` for why its last byte waits for the
/// commit); ranges are served from the store once verified.
///
/// One consumer at a time (`@unchecked Sendable` for that reason: its offset is not locked).
final class FetchReader: ChunkSource, @unchecked Sendable {
    private let fetch: InflightFetch
    private var offset: Int64 = 0
    private var handle: NIOFileHandle?
    /// The largest span handed out at once, so that a fast writer and slow readers interleave.
    static let maximumSpan: Int64 = 8 << 20

    init(fetch: InflightFetch) {
        self.fetch = fetch
    }

    func nextChunk() async throws(PullError) -> BodyChunk? {
        let (action, file) = await fetch.nextAction(offset: offset)
        switch action {
        case .fail(let failure):
            throw .interrupted("download of \(fetch.digest) failed: \(failure)")
        case .finished:
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
            let stop = min(limit, offset + Self.maximumSpan)
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
