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

    /// Parses a request path (query already removed, percent-escapes decoded).
    ///
    /// Byte-wise over the path's UTF-8, with no Foundation and one allocation per name or
    /// reference it returns: every request is routed. Markers are matched as bytes, so a `/`
    /// followed by a combining mark still separates components (the names are validated later,
    /// and no name or reference may contain such a character).
    public init(path: String) {
        var path = path
        self = path.withUTF8 { Route(utf8: $0) }
    }

    private init(utf8 path: UnsafeBufferPointer<UInt8>) {
        if path.equals("/v2/") || path.equals("/v2") { self = .base; return }
        if path.equals("/healthz") { self = .health; return }
        if path.equals("/readyz") { self = .ready; return }
        if path.equals("/metrics") { self = .metrics; return }
        if path.hasPrefix("/_layover/") {
            self = .admin(path.string(10..<path.count))
            return
        }
        guard path.hasPrefix("/v2/") else {
            self = .notRegistry
            return
        }
        let rest = UnsafeBufferPointer(rebasing: path[4...])
        if rest.hasSuffix("/tags/list") {
            self = .tags(name: rest.string(0..<rest.count - 10))
            return
        }
        if let marker = rest.lastRange(of: "/blobs/uploads") {
            let tail = marker.upperBound..<rest.count
            if tail.isEmpty || (tail.count == 1 && rest[tail.lowerBound] == UInt8(ascii: "/")) {
                self = .upload(name: rest.string(0..<marker.lowerBound), id: nil)
                return
            }
            if rest[tail.lowerBound] == UInt8(ascii: "/"), !rest[(tail.lowerBound + 1)...].contains(UInt8(ascii: "/")) {
                self = .upload(name: rest.string(0..<marker.lowerBound), id: rest.string((tail.lowerBound + 1)..<rest.count))
                return
            }
        }
        if let route = Self.lastComponent(rest, after: "/manifests/", { .manifest(name: $0, reference: $1) })
            ?? Self.lastComponent(rest, after: "/blobs/", { .blob(name: $0, digest: $1) })
            ?? Self.lastComponent(rest, after: "/referrers/", { .referrers(name: $0, digest: $1) }) {
            self = route
            return
        }
        self = .unknown
    }

    /// `<name><marker><last>` split at the last `marker`, when both sides are non-empty and
    /// `last` is one component.
    private static func lastComponent(_ rest: UnsafeBufferPointer<UInt8>, after marker: StaticString,
                                      _ make: (String, String) -> Route) -> Route? {
        guard let range = rest.lastRange(of: marker), range.lowerBound > 0, range.upperBound < rest.count,
              !rest[range.upperBound...].contains(UInt8(ascii: "/")) else { return nil }
        return make(rest.string(0..<range.lowerBound), rest.string(range.upperBound..<rest.count))
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
}
