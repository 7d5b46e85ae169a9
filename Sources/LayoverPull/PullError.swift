import LayoverUpstream
import LayoverWire

/// Why a pull could not be answered; the HTTP front turns these into OCI errors.
public enum PullError: Error, Equatable, Sendable {
    case manifestUnknown(String)
    case blobUnknown(Digest)
    /// The upstream failed and no cached answer could stand in.
    case upstream(UpstreamError)
    /// The download failed mid-body; the connection must be closed short of a complete body.
    case interrupted(String)
    case store(String)
}
