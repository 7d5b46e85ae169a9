import LayoverWire
import Synchronization

/// A hold on a stored blob: while any lease is held, the blob is not evicted.
///
/// Release exactly when the bytes are out (e.g. when a `sendfile` write completes); releasing
/// twice is harmless. Safe to share between threads.
public final class BlobLease: Sendable {
    /// The blob's record at the time the lease was taken.
    public let record: BlobRecord
    private let layout: StoreLayout
    private let released = Atomic<Bool>(false)
    private let onRelease: @Sendable (Digest) -> Void

    init(record: BlobRecord, layout: StoreLayout, onRelease: @escaping @Sendable (Digest) -> Void) {
        self.record = record
        self.layout = layout
        self.onRelease = onRelease
    }

    /// The file holding the blob's verified bytes (made when asked: an answer from memory
    /// never needs it).
    public var path: String { layout.blobPath(for: record.digest) }

    /// Gives the blob back to the evictor.
    public func release() {
        if !released.exchange(true, ordering: .acquiringAndReleasing) {
            onRelease(record.digest)
        }
    }

    deinit { release() }
}
