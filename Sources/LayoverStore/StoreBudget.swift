/// The byte budget of the store with its watermarks: eviction starts when stored plus reserved
/// bytes pass `highWatermark` and stops once they are at or below `lowWatermark`.
public struct StoreBudget: Sendable, Equatable {
    /// The budget the operator configured.
    public var maxBytes: Int64
    /// The level that starts eviction (the budget itself).
    public var highWatermark: Int64 { maxBytes }
    /// The level eviction brings the store down to (90% of the budget), so that eviction runs in
    /// batches rather than once per new blob.
    public var lowWatermark: Int64 { maxBytes / 10 * 9 }

    public init(maxBytes: Int64) {
        self.maxBytes = maxBytes
    }
}
