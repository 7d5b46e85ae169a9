import LayoverPull
import LayoverStore
import LayoverWire

/// Pulls straight into a store opened in this process (no server running on it), through the
/// same pull service `serve` uses: coalescing, verification and repository links included.
struct StoreWarmSource: WarmSource {
    var pull: PullService

    func manifest(_ name: String, _ reference: Reference) async throws -> Manifest {
        let (client, repository) = try pull.upstreams.resolve(name: name, namespace: nil)
        let answer = try await pull.manifest(client, repository, reference, accept: MediaType.defaultManifestAccept, withBody: true)
        answer.body?.release()
        guard let bytes = pull.store.read(answer.digest) else {
            throw WarmError("\(name):\(reference): manifest \(answer.digest) not readable from the store")
        }
        return try Manifest(bytes: bytes, contentType: answer.mediaType)
    }

    func blob(_ name: String, _ digest: Digest, progress: @Sendable (Int) -> Void) async throws {
        let (client, repository) = try pull.upstreams.resolve(name: name, namespace: nil)
        let answer = try await pull.blob(client, repository, digest, withBody: true)
        switch answer {
        case .stored(let record, let lease):
            lease?.release()
            progress(Int(record.size))
        case .streaming(_, let source):
            defer { source.close() }
            while let chunk = try await source.nextChunk() {
                switch chunk {
                case .bytes(let buffer): progress(buffer.readableBytes)
                case .file(_, _, let count): progress(Int(count))
                }
            }
        case .upstreamHead:
            throw WarmError("\(name)@\(digest): the pull service answered a GET with a HEAD")
        }
    }
}
