import LayoverUpstream

/// The state of one shared upstream download, as its readers see it. Pure: the driver
/// (`InflightFetch`) holds it under a lock, applies events, and performs the returned actions.
///
/// Promise to readers: bytes below `readableLimit` are on disk in the ingest file; the final byte
/// of the body becomes readable only once the whole content has been verified and committed, so a
/// reader never delivers a complete body whose digest fails.
public struct FetchMachine: Sendable {
    /// Why a download ended without content.
    public enum Failure: Error, Equatable, Sendable {
        /// The upstream does not have the blob.
        case notFound
        /// The upstream could not be used (unreachable, refused, rate limited…), as it said: the
        /// error keeps its kind so that the client's answer does too (429 stays 429).
        case upstream(UpstreamError)
        /// The bytes did not match the digest; nothing was kept.
        case corrupt(String)
        /// The store has no room; the caller should stream the blob through uncached.
        case noSpace
        /// Writing to the store failed.
        case store(String)
    }

    public enum Phase: Equatable, Sendable {
        /// Waiting for the upstream's answer.
        case connecting
        /// Bytes are arriving; `size` as announced.
        case streaming(size: Int64?)
        /// The whole body is on disk, verified and committed.
        case committed(size: Int64)
        case failed(Failure)
    }

    /// What a reader should do next.
    public enum ReadAction: Equatable, Sendable {
        /// Read bytes `[offset, limit)` from the ingest file, then ask again.
        case read(limit: Int64)
        /// Nothing new yet: wait to be woken.
        case wait
        /// Every byte up to `size` has been read: the body is complete.
        case finished(size: Int64)
        case fail(Failure)
    }

    public private(set) var phase: Phase = .connecting
    /// Bytes appended to the ingest file so far.
    public private(set) var written: Int64 = 0

    public init() {}

    /// Bytes a reader may deliver now.
    public var readableLimit: Int64 {
        switch phase {
        case .connecting, .failed: 0
        case .streaming: max(0, written - 1)
        case .committed(let size): size
        }
    }

    /// The size, once the upstream has announced or delivered it; nil while unknown.
    public var knownSize: Int64? {
        switch phase {
        case .streaming(let size): size
        case .committed(let size): size
        case .connecting, .failed: nil
        }
    }

    /// Whether readers waiting for the response's start can go on (size known or never to be).
    public var hasStarted: Bool {
        if case .connecting = phase { return false }
        return true
    }

    /// Whether the download is over: committed or failed.
    public var hasEnded: Bool {
        switch phase {
        case .committed, .failed: true
        case .connecting, .streaming: false
        }
    }

    /// The upstream answered with a body of `size` bytes (nil: not announced).
    public mutating func started(size: Int64?) {
        guard case .connecting = phase else { return }
        phase = .streaming(size: size)
    }

    /// `count` more bytes are on disk. Returns whether waiting readers should be woken.
    public mutating func appended(_ count: Int64) -> Bool {
        guard case .streaming = phase else { return false }
        let before = readableLimit
        written += count
        return readableLimit > before
    }

    /// The content verified and committed.
    public mutating func committed() {
        guard case .streaming = phase else { return }
        phase = .committed(size: written)
    }

    /// The download ended without content; every reader fails.
    public mutating func failed(_ failure: Failure) {
        switch phase {
        case .committed, .failed: return
        case .connecting, .streaming: phase = .failed(failure)
        }
    }

    /// What a reader that has delivered everything below `offset` should do.
    public func nextAction(offset: Int64) -> ReadAction {
        switch phase {
        case .failed(let failure):
            return .fail(failure)
        case .committed(let size):
            return offset < size ? .read(limit: size) : .finished(size: size)
        case .connecting:
            return .wait
        case .streaming:
            return offset < readableLimit ? .read(limit: readableLimit) : .wait
        }
    }
}
