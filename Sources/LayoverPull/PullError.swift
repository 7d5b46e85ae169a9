import LayoverUpstream
import LayoverWire

/// Why a pull could not be answered; the HTTP front turns these into OCI errors.
public enum PullError: Error, Equatable, Sendable {
    case manifestUnknown(String)
    case blobUnknown(Digest)
    /// A `HEAD` of a blob not held here (for this repository) while the upstream cannot be asked:
    /// unknown, so that a pushing client uploads it (a push never depends on the upstream).
    case blobUnknownUpstreamDown(Digest, reason: String)
    /// The same for a manifest by digest.
    case manifestUnknownUpstreamDown(String, reason: String)
    /// The upstream failed and no cached answer could stand in.
    case upstream(UpstreamError)
    /// The download failed mid-body; the connection must be closed short of a complete body.
    case interrupted(String)
    case store(String)
}
