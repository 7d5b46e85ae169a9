/// The headers that mark a request between fleet members.
public enum PeerHeaders {
    /// The fleet secret; a request that carries a peer header without the right one is refused.
    public static let secret = "Layover-Fleet-Secret"
    /// Set on every peer request: the receiving node serves it itself (from its store or the
    /// upstream) and never forwards it or asks another peer, so a request hops at most once.
    public static let hop = "Layover-Fleet-Hop"
    /// Headers that belong to one connection (RFC 9110 §7.6.1) and are never forwarded.
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                                        "upgrade", "host", "expect", "content-length", secret.lowercased(), hop.lowercased()]
}
