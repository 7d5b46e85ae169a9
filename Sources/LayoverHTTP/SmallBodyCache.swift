import LayoverWire
import NIOCore
import LayoverLocks

/// The bytes of small stored blobs (manifests, small layers) kept in memory by digest, so that
/// answering one costs no `open`, `pread` and `close` (a tenth of a cached manifest's CPU).
///
/// Content-addressed: a kept body is the blob's verified bytes and can never be stale. It is
/// only ever used after the store granted a lease on the digest, so a blob evicted, deleted or
/// quarantined since is not served from here. Bounded by `capacity` bytes; the oldest bodies
/// go first. Thread-safe; a kept `ByteBuffer` is shared, never copied or changed.
final class SmallBodyCache: Sendable {
    /// The process-wide cache: one per process, whatever the number of stores (digests name
    /// the same bytes in every store).
    static let shared = SmallBodyCache(capacity: 4 << 20)

    private struct State {
        var bodies: [Digest: ByteBuffer] = [:]
        /// Kept digests, oldest first from `head`.
        var order: [Digest] = []
        var head = 0
        var bytes = 0
    }

    let capacity: Int
    private let state = Locked(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The whole body of `digest`, if kept.
    func body(_ digest: Digest) -> ByteBuffer? {
        state.withLock { $0.bodies[digest] }
    }

    /// Keeps `body` (the blob's complete bytes), dropping the oldest bodies to stay within
    /// `capacity`; a body larger than an eighth of it is not kept.
    func keep(_ body: ByteBuffer, for digest: Digest) {
        let size = body.capacity
        guard size <= capacity / 8 else { return }
        state.withLock { state in
            guard state.bodies[digest] == nil else { return }
            while state.bytes + size > capacity, state.head < state.order.count {
                let oldest = state.order[state.head]
                state.head += 1
                state.bytes -= state.bodies.removeValue(forKey: oldest)?.capacity ?? 0
            }
            if state.head > 64, state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
            state.bodies[digest] = body
            state.order.append(digest)
            state.bytes += size
        }
    }

    /// Bytes kept now (the buffers' capacities).
    var bytes: Int { state.withLock { $0.bytes } }
}
