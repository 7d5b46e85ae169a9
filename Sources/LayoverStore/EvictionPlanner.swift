import LayoverWire

/// Chooses which blobs to evict: least recently used first, never a protected one (open,
/// being written, or pinned). Pure; the store applies the plan.
public enum EvictionPlanner {
    /// The blobs to remove so that `usedBytes` falls to `targetBytes` or as close as the
    /// protected blobs allow, oldest access first.
    public static func victims(
        of blobs: some Collection<BlobRecord>,
        usedBytes: Int64,
        targetBytes: Int64,
        isProtected: (Digest) -> Bool
    ) -> [BlobRecord] {
        guard usedBytes > targetBytes else { return [] }
        var excess = usedBytes - targetBytes
        var chosen: [BlobRecord] = []
        for record in blobs.sorted(by: { ($0.lastAccess, $0.digest) < ($1.lastAccess, $1.digest) }) {
            if excess <= 0 { break }
            if isProtected(record.digest) { continue }
            chosen.append(record)
            excess -= record.size
        }
        return chosen
    }
}
