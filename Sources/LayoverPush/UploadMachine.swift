/// The state of one upload session, as the distribution spec's upload API drives it. Pure: the
/// session applies events under its lock and performs the I/O the answers call for.
///
/// Chunks must arrive in order: a chunk whose start is not the current offset is refused (416),
/// and only one request may write to a session at a time. A session being written is never
/// closed under its writer: a cancel only asks, and the writer ends the session at its next step.
public struct UploadMachine: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        /// Waiting for the next chunk or the final PUT.
        case open
        /// A request is appending to the session.
        case writing
        /// A request is appending and the session was cancelled meanwhile (DELETE, expiry): the
        /// writer drops the content at its next step.
        case cancelling
        /// Committed, cancelled, failed or expired: the session is gone.
        case closed
    }

    public private(set) var phase: Phase = .open
    /// Bytes received so far.
    public private(set) var offset: Int64 = 0
    /// When a request last touched the session (seconds since 1970).
    public private(set) var lastActivity: Double

    public init(now: Double) {
        lastActivity = now
    }

    /// What a request that wants to append should do.
    public enum AppendDecision: Sendable, Equatable {
        case append
        /// The chunk does not start at the current offset; answer 416 with the current range.
        case outOfOrder(expected: Int64)
        /// Another request is writing to this session.
        case busy
        /// The session is gone.
        case unknown
    }

    /// A request wants to append bytes starting at `start` (nil: at the current offset).
    public mutating func beginAppend(start: Int64?, now: Double) -> AppendDecision {
        switch phase {
        case .closed, .cancelling: return .unknown
        case .writing: return .busy
        case .open:
            if let start, start != offset { return .outOfOrder(expected: offset) }
            phase = .writing
            lastActivity = now
            return .append
        }
    }

    /// Whether the writer must stop: the session was cancelled while it wrote.
    public var isCancelled: Bool { phase == .cancelling }

    /// The appending request wrote `count` bytes and stops. With `close`, the session ends with
    /// it (a final PUT about to commit, or a chunk that lied about its size). Returns false when
    /// the session was cancelled meanwhile: the writer must then drop the content.
    public mutating func endAppend(wrote count: Int64, now: Double, close: Bool = false) -> Bool {
        switch phase {
        case .writing:
            offset += count
            phase = close ? .closed : .open
            lastActivity = now
            return true
        case .cancelling:
            phase = .closed
            return false
        case .open, .closed:
            return false
        }
    }

    /// What a cancel means for the content.
    public enum CloseDecision: Sendable, Equatable {
        /// The session was idle: drop its content now.
        case dropNow
        /// A writer is at work: it drops the content at its next step.
        case writerDrops
        /// The session had already ended.
        case alreadyClosed
    }

    /// The session is cancelled (DELETE, expiry).
    public mutating func close() -> CloseDecision {
        switch phase {
        case .open:
            phase = .closed
            return .dropNow
        case .writing:
            phase = .cancelling
            return .writerDrops
        case .cancelling, .closed:
            return .alreadyClosed
        }
    }

    /// Whether an idle session has outlived `timeout` seconds at `now`. A session being written
    /// to is never expired under its writer.
    public func isExpired(now: Double, timeout: Double) -> Bool {
        phase == .open && now - lastActivity > timeout
    }

    /// The `Range` header value for the bytes received: `0-<last>` (`0-0` when empty, as clients expect).
    public var rangeHeader: String { "0-\(max(0, offset - 1))" }
}
