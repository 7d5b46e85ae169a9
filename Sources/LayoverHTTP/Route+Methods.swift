extension Route {
    /// The methods this route answers, for the `Allow` header a `405` must carry (RFC 9110
    /// §15.5.6). `DELETE` on manifests and blobs only when `deletion` may be enabled.
    func allowedMethods(deletion: Bool) -> [String] {
        switch self {
        case .base, .tags, .health, .ready, .metrics: ["GET", "HEAD"]
        case .referrers: ["GET"]
        case .manifest: ["GET", "HEAD", "PUT"] + (deletion ? ["DELETE"] : [])
        case .blob: ["GET", "HEAD"] + (deletion ? ["DELETE"] : [])
        case .upload(_, nil): ["POST"]
        case .upload(_, _?): ["GET", "PATCH", "PUT", "DELETE"]
        case .admin("queue"), .admin("status"), .admin("caches"): ["GET"]
        case .admin("queue/retry"): ["POST"]
        case .admin("verify"): ["GET", "POST"]
        case .admin, .unknown, .notRegistry: []
        }
    }
}
