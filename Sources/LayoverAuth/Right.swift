/// What a client may do with a repository: read it (`pull`: GET and HEAD of manifests, blobs,
/// tags and referrers) or write it (`push`: uploads, mounts, manifest PUT, deletions).
public enum Right: String, Sendable, Hashable, CaseIterable, Comparable {
    case pull
    case push

    public static func < (lhs: Right, rhs: Right) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
