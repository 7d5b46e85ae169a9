import Foundation
import Logging

/// What a `/v2/…` path asks for. Pure parsing; names are validated later, once the upstream is known.
public enum Route: Equatable, Sendable {
    /// `/v2/`: the API version check.
    case base
    case manifest(name: String, reference: String)
    case blob(name: String, digest: String)
    case tags(name: String)
    /// `/v2/<name>/referrers/<digest>`.
    case referrers(name: String, digest: String)
    /// `/v2/<name>/blobs/uploads/…`: pushes.
    case upload(name: String, id: String?)
    /// Anything else under `/v2/`.
    case unknown
    /// `/_layover/<what>`: Layover's own admin endpoints.
    case admin(String)
    /// `/healthz`: the process is alive.
    case health
    /// `/readyz`: the store is open and its index answers.
    case ready
    /// `/metrics`: Prometheus text.
    case metrics
    /// A path outside `/v2/`.
    case notRegistry

    /// Parses a request path (query already removed).
    public init(path: String) {
        if path == "/v2/" || path == "/v2" {
            self = .base
            return
        }
        switch path {
        case "/healthz": self = .health; return
        case "/readyz": self = .ready; return
        case "/metrics": self = .metrics; return
        default: break
        }
        if path.hasPrefix("/_layover/") {
            self = .admin(String(path.dropFirst("/_layover/".count)))
            return
        }
        guard path.hasPrefix("/v2/") else {
            self = .notRegistry
            return
        }
        let rest = path.dropFirst(4)
        if rest.hasSuffix("/tags/list") {
            self = .tags(name: String(rest.dropLast("/tags/list".count)))
            return
        }
        if let range = rest.range(of: "/blobs/uploads", options: .backwards) {
            let tail = rest[range.upperBound...]
            if tail.isEmpty || tail == "/" {
                self = .upload(name: String(rest[..<range.lowerBound]), id: nil)
                return
            }
            if tail.hasPrefix("/"), !tail.dropFirst().contains("/") {
                self = .upload(name: String(rest[..<range.lowerBound]), id: String(tail.dropFirst()))
                return
            }
        }
        for (marker, make) in Self.markers {
            if let range = rest.range(of: marker, options: .backwards) {
                let name = rest[..<range.lowerBound]
                let last = rest[range.upperBound...]
                if !name.isEmpty, !last.isEmpty, !last.contains("/") {
                    self = make(String(name), String(last))
                    return
                }
            }
        }
        self = .unknown
    }

    /// The route's kind, as the metrics label requests (`manifest`, `blob`, `upload`, …).
    public var endpoint: String {
        switch self {
        case .base: "base"
        case .manifest: "manifest"
        case .blob: "blob"
        case .tags: "tags"
        case .referrers: "referrers"
        case .upload: "upload"
        case .unknown, .notRegistry: "unknown"
        case .admin: "admin"
        case .health: "health"
        case .ready: "ready"
        case .metrics: "metrics"
        }
    }

    /// The repository (as the client named it, upstream prefix included) and the tag or digest,
    /// for log lines, percent-encoded (they are client input, not yet validated).
    var logMetadata: [String: Logger.MetadataValue] {
        let safe = Escaping.logValue
        return switch self {
        case .manifest(let name, let reference): ["repository": "\(safe(name))", "reference": "\(safe(reference))"]
        case .blob(let name, let digest), .referrers(let name, let digest): ["repository": "\(safe(name))", "digest": "\(safe(digest))"]
        case .tags(let name), .upload(let name, _): ["repository": "\(safe(name))"]
        case .base, .unknown, .admin, .health, .ready, .metrics, .notRegistry: [:]
        }
    }

    private static let markers: [(String, @Sendable (String, String) -> Route)] = [
        ("/manifests/", { .manifest(name: $0, reference: $1) }),
        ("/blobs/", { .blob(name: $0, digest: $1) }),
        ("/referrers/", { .referrers(name: $0, digest: $1) }),
    ]
}
