/// The state of one upload session, as the distribution spec's upload API drives it. Pure: the
/// session applies events under its lock and performs the I/O the answers call for.
///
/// Chunks must arrive in order: a chunk whose start is not the current offset is refused (416),
/// and only one request may write to a session at a time.
public struct UploadMachine: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        /// Waiting for the next chunk or the final PUT.
        case open
        /// A request is appending to the session.
        case writing
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
        case .closed: return .unknown
        case .writing: return .busy
        case .open:
            if let start, start != offset { return .outOfOrder(expected: offset) }
            phase = .writing
            lastActivity = now
            return .append
        }
    }

    /// The appending request wrote `count` bytes; `failed` when it could not finish (the bytes it
    /// wrote stay, as the spec's resumable uploads expect).
    public mutating func endAppend(wrote count: Int64, now: Double) {
        guard phase == .writing else { return }
        offset += count
        phase = .open
        lastActivity = now
    }

    /// The session ends (committed, cancelled or failed). Returns false if it had already ended.
    public mutating func close() -> Bool {
        guard phase != .closed else { return false }
        phase = .closed
        return true
    }

    /// Whether an idle session has outlived `timeout` seconds at `now`. A session being written
    /// to is never expired under its writer.
    public func isExpired(now: Double, timeout: Double) -> Bool {
        phase == .open && now - lastActivity > timeout
    }

    /// The `Range` header value for the bytes received: `0-<last>` (`0-0` when empty, as clients expect).
    public var rangeHeader: String { "0-\(max(0, offset - 1))" }
}
