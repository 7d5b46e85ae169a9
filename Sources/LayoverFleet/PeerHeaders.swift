/// The headers that mark a request between fleet members.
public enum PeerHeaders {
    /// The fleet secret; a request that carries a peer header without the right one is refused.
    public static let secret = "Layover-Fleet-Secret"
    /// Set on every peer request: the receiving node serves it itself (from its store or the
    /// upstream) and never forwards it or asks another peer, so a request hops at most once.
    public static let hop = "Layover-Fleet-Hop"
    /// On a peer's blob request: answer from the store only (`404` when the blob is not there),
    /// never from the upstream. Sent to a digest's previous owner, which may still hold it.
    public static let storedOnly = "Layover-Fleet-Stored-Only"
    /// On a forwarded request: the client's address, for the owner's per-client upload limits.
    /// Read only on a request that carries the secret.
    public static let client = "Layover-Fleet-Client"
    /// The query parameter an upload's `Location` names its owner with (the owner's URL).
    public static let uploadOwner = "layover-owner"
    /// Headers that belong to one connection (RFC 9110 §7.6.1) and are never forwarded.
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                                        "upgrade", "host", "expect", "content-length", secret.lowercased(), hop.lowercased(),
                                        storedOnly.lowercased(), client.lowercased()]
}
