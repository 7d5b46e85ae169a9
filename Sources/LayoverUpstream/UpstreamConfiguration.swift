/// One upstream registry as configured.
public struct UpstreamConfiguration: Sendable, Equatable {
    /// The name clients use for it: the first path component in registry mode, or `ns=`.
    public var name: String
    /// The registry's base URL, e.g. `https://registry-1.docker.io` (no trailing slash).
    public var url: String
    /// Credentials for the token endpoint or Basic auth; nil for anonymous access.
    public var credentials: Credentials?
    /// How long a revalidated tag is trusted without asking again, in seconds (0: always ask).
    public var tagFreshnessSeconds: Double
    /// How long a push upload may go without the upstream accepting a byte before it counts as
    /// a (transient) failure, in seconds.
    public var stallTimeoutSeconds: Double = 60
    /// Blobs larger than this replicate in chunks of this many bytes (`PATCH` with
    /// `Content-Range`), each sent with a token fresh enough for it, when the upstream accepts
    /// chunks; smaller ones in one `PUT`.
    public var uploadChunkBytes: Int64 = defaultUploadChunkBytes
    /// 64 MiB: a chunk takes seconds on a fast link, well within any token's life.
    public static let defaultUploadChunkBytes: Int64 = 64 << 20
    /// Whether and how far the layers of a BuildKit cache manifest are warmed when it is resolved.
    public var prefetch = PrefetchPolicy()

    public struct Credentials: Sendable, Equatable {
        public var username: String
        public var password: String

        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public init(name: String, url: String, credentials: Credentials? = nil, tagFreshnessSeconds: Double = 0) {
        self.name = name
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.credentials = credentials
        self.tagFreshnessSeconds = tagFreshnessSeconds
    }

    /// The host (and port) part of `url`, for matching `ns=` values.
    public var host: String {
        // Byte-wise, with no Foundation: asked on requests (`isDockerHub`, `ns=`).
        let utf8 = url.utf8
        var start = utf8.startIndex
        var index = utf8.startIndex
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: ":"), utf8[index...].starts(with: "://".utf8) {
                start = utf8.index(index, offsetBy: 3)
                break
            }
            index = utf8.index(after: index)
        }
        let end = utf8[start...].firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
        return String(url[start..<end])
    }

    /// Whether the upstream is Docker Hub, whose one-component names get `library/`.
    public var isDockerHub: Bool {
        name == "docker.io" || host == "registry-1.docker.io" || host == "index.docker.io"
    }
}
