import LayoverUpstream
import LayoverWire

/// Which layers of a resolved manifest to warm, decided without I/O.
///
/// Only BuildKit caches are planned, and only when the policy allows it. Layers already stored
/// are left out; the rest are taken in the manifest's order while their declared sizes fit the
/// byte cap: the first layer that would cross it stops the plan (it and every later layer are
/// `capped`), so a cap bounds the egress one resolve can cause.
struct PrefetchPlan: Equatable, Sendable {
    /// The layers to fetch, in order.
    var layers: [Descriptor] = []
    /// Missing layers left out by the byte cap.
    var capped: [Descriptor] = []

    /// The plan for `manifest` under `policy`; `isStored` says whether a digest is held here.
    init(_ manifest: Manifest, policy: PrefetchPolicy, isStored: (Digest) -> Bool) {
        guard policy.cacheManifests, policy.concurrency > 0 else { return }
        var planned: Int64 = 0
        var seen: Set<Digest> = []
        for layer in manifest.cacheLayers where seen.insert(layer.digest).inserted && !isStored(layer.digest) {
            if capped.isEmpty, layer.size >= 0, planned + layer.size <= policy.maxBytes {
                planned += layer.size
                layers.append(layer)
            } else {
                capped.append(layer)
            }
        }
    }

    /// Bytes the plan fetches, by declared sizes.
    var bytes: Int64 { layers.reduce(0) { $0 + $1.size } }
}
