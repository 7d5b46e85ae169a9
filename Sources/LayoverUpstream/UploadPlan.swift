/// Where a blob upload to an upstream stands, and what to send next. Pure: the client's upload
/// loop asks it after every answer, so chunking, resuming and giving up are tested without I/O.
///
/// A blob larger than `chunkBytes` goes up in `PATCH`es of that size with `Content-Range`, then a
/// closing `PUT ?digest=` without a body; a smaller one (or any, once the upstream refused
/// chunks) in one `PUT` with the whole body. After a failed request the upload resumes from the
/// offset the upstream reports (`GET` on the upload URL), never from where Layover thinks it is.
struct UploadPlan: Equatable {
    let size: Int64
    /// Chunk length; nil: one monolithic `PUT`.
    private(set) var chunkBytes: Int64?
    /// Bytes the upstream holds.
    private(set) var offset: Int64 = 0
    /// Failed requests since the last one that made progress.
    private(set) var failures = 0
    /// A `401` led to a fresh token and no request succeeded since: another `401` is final.
    private(set) var refreshedToken = false
    /// Failed requests in a row after which the attempt ends (the job retries it later).
    static let maximumFailures = 3

    init(size: Int64, chunkBytes: Int64) {
        self.size = size
        self.chunkBytes = size > chunkBytes ? chunkBytes : nil
    }

    /// The next request: bytes `offset..<offset + length` of the file, `closing` for the `PUT`.
    var request: (offset: Int64, length: Int64, closing: Bool) {
        if let chunkBytes, offset < size { return (offset, min(chunkBytes, size - offset), false) }
        return (offset, size - offset, true)
    }

    /// What the loop does next.
    enum Next: Equatable {
        /// Send `request`.
        case send
        /// Ask the upstream where the upload stands (with a fresh token after a `401`), then `resumed`.
        case resync
        /// Cancel this upload and start a new one (the upstream does not take chunks).
        case restart
        case done
        /// Give up this attempt; `unauthorized`: a fresh token was refused too (permanent).
        case fail(String, unauthorized: Bool)
    }

    /// A chunk was accepted; `range` is the answer's `Range` (`0-<last byte>`), when sent.
    mutating func accepted(range: String?) -> Next {
        let length = request.length
        offset = range.flatMap(Self.offset(afterRange:)) ?? offset + length
        failures = 0
        refreshedToken = false
        return .send
    }

    /// The closing `PUT` was accepted.
    mutating func finished() -> Next { .done }

    /// A request was answered `401`: once, the upload goes on with a fresh token from where the
    /// upstream says it stands; again before any progress, the upstream refuses us.
    mutating func unauthorized(_ reason: String) -> Next {
        if refreshedToken { return .fail("\(reason), with a token fetched after an earlier 401", unauthorized: true) }
        refreshedToken = true
        return bounded(reason)
    }

    /// A request failed in a way another try may cure. A chunked upload resumes from where the
    /// upstream says it stands (a few times in a row at most); a monolithic one ends the attempt
    /// (its bytes cannot be resumed, and the job's next attempt starts it afresh).
    mutating func failed(_ reason: String) -> Next {
        guard chunkBytes != nil else { return .fail(reason, unauthorized: false) }
        return bounded(reason)
    }

    private mutating func bounded(_ reason: String) -> Next {
        failures += 1
        return failures >= Self.maximumFailures ? .fail("\(reason) (\(failures) failures in a row)", unauthorized: false) : .resync
    }

    /// The upstream refused a chunk: on the first one, it does not take chunks, and the blob
    /// goes up whole in a new upload; later, the chunk is out of line and the upload resyncs.
    mutating func chunkRefused(_ reason: String) -> Next {
        guard chunkBytes != nil, offset == 0, failures == 0 else { return bounded(reason) }
        chunkBytes = nil
        return .restart
    }

    /// The upstream reported where the upload stands (`Range`), or nil: it has forgotten the
    /// upload, and a new one starts from byte 0.
    mutating func resumed(range: String?) {
        offset = range.flatMap(Self.offset(afterRange:)).map { min($0, size) } ?? 0
    }

    /// A new upload replaced the old one.
    mutating func restarted() {
        offset = 0
    }

    /// The offset after an upload status's `Range: 0-<last byte>` (with or without `bytes=`).
    /// `0-0` is read as nothing uploaded (distribution answers it for an empty upload; a chunk
    /// is never a single byte).
    static func offset(afterRange header: String) -> Int64? {
        var text = Substring(header)
        if text.hasPrefix("bytes=") { text = text.dropFirst(6) }
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "0", let end = Int64(parts[1]), end >= 0 else { return nil }
        return end == 0 ? 0 : end + 1
    }
}
