import Logging
import NIOCore

/// How the front serves connections: TLS, the protocol limits and the access log.
public struct FrontOptions: Sendable {
    /// Certificate and key for TLS on every connection; nil serves cleartext (HTTP/1.1, and
    /// HTTP/2 with prior knowledge).
    public var tls: TLSMaterial?
    /// A logger for one line per answered request; nil for none.
    public var accessLog: Logger?
    /// Connections served at once; past it, a connection only gets `/healthz` (or a `503`) and is
    /// closed, so that descriptors stay free for probes and the store.
    public var maxConnections = Int.max
    /// A request head (or a TLS handshake) must be complete within this, counted from its first
    /// byte: a client trickling a head (slowloris) is cut.
    public var headerTimeout = TimeAmount.seconds(10)
    /// A connection with no request in progress for this long is closed (HTTP/2: after a GOAWAY).
    public var idleTimeout = TimeAmount.seconds(120)
    /// The request line and headers of one request, at most; past it `431`.
    public var maxHeaderBytes = 64 << 10
    /// HTTP/2 streams a client may open at once on one connection.
    public var maxConcurrentStreams = 100

    public init() {}
}
