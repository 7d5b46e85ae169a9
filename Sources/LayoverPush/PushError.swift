import LayoverStore
import LayoverUpstream
import LayoverWire

/// Why a push request was refused; the HTTP front turns these into OCI errors.
public enum PushError: Error, Equatable, Sendable {
    case uploadUnknown(String)
    /// A chunk did not start where the upload stands; `range` is what was received.
    case outOfOrder(range: String)
    case uploadBusy
    case digestMismatch(expected: Digest, actual: Digest)
    case sizeMismatch(expected: Int64, actual: Int64)
    case manifestInvalid(String)
    case manifestTooLarge(Int)
    case blobUnknown(Digest)
    /// Manifest references that are neither stored nor known upstream.
    case manifestBlobUnknown([Digest])
    /// The store is full of content not yet replicated.
    case storeFull
    case bodyFailed(String)
    case store(String)
    /// `sync` mode: the upstream did not accept the push (it stays queued for retry).
    case upstreamRefused(String)
    /// `sync` mode: a newer push of the tag replaced this one before it reached the upstream.
    case superseded(String)
    /// Too many upload sessions are open (the limit is given).
    case tooManyUploads(Int)
    /// This client holds too many upload sessions (the per-client limit is given).
    case tooManyClientUploads(Int)
    /// The upload grew past the largest accepted (given in bytes).
    case uploadTooLarge(Int64)
    /// A `Content-Range` no upload can have.
    case rangeInvalid(String)

    var isSizeMismatch: Bool {
        if case .sizeMismatch = self { true } else { false }
    }

    var isTooLarge: Bool {
        if case .uploadTooLarge = self { true } else { false }
    }
    case unsupported(String)
    /// A manifest (tag or digest) neither stored for the repository nor held upstream.
    case manifestUnknown(String)
    /// The upstream could not be asked (down, rate limiting, refusing our credentials).
    case upstreamUnavailable(String)
    /// `sync` mode: the upstream did not carry out a deletion (its job retries or is dead).
    case deletionRefused(String)
}
