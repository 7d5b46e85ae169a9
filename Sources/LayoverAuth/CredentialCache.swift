import Crypto
import DequeModule
import LayoverLocks

/// Credentials verified recently, keyed by the SHA-256 of the whole `Authorization` header (the
/// header itself is never kept), so that only a client's first request pays bcrypt. Bounded:
/// at most `capacity` entries, the oldest dropped first; each expires `lifetime` after it was
/// verified. Only successes are remembered. Thread-safe.
public final class CredentialCache: Sendable {
    /// The SHA-256 of a header value, as four words (cheap to hash and compare).
    public struct Key: Hashable, Sendable {
        let words: (UInt64, UInt64, UInt64, UInt64)

        public init(header: String) {
            var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            SHA256.hash(data: Array(header.utf8)).withUnsafeBytes { bytes in
                words = (bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                         bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            }
            self.words = words
        }

        public static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(words.0)
            hasher.combine(words.1)
            hasher.combine(words.2)
            hasher.combine(words.3)
        }
    }

    private struct Entry {
        var principal: Principal
        var expires: ContinuousClock.Instant
        var serial: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        /// Keys in insertion order, with the serial they were inserted under (a key inserted again
        /// has a newer serial, so its old place in the queue no longer evicts it).
        var order: Deque<(key: Key, serial: UInt64)> = []
        var nextSerial: UInt64 = 0
    }

    public let capacity: Int
    public let lifetime: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let state = Locked(State())

    public init(capacity: Int = 10_000, lifetime: Duration = .seconds(300),
                now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.capacity = max(1, capacity)
        self.lifetime = lifetime
        self.now = now
    }

    /// The key for one `Authorization` header value.
    public static func key(_ header: String) -> Key {
        Key(header: header)
    }

    /// The principal verified for `key`, unless it expired.
    public func principal(for key: Key) -> Principal? {
        let now = self.now()
        return state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            guard entry.expires > now else {
                state.entries[key] = nil
                return nil
            }
            return entry.principal
        }
    }

    /// Remembers a verified credential.
    public func insert(_ principal: Principal, for key: Key) {
        let expires = now() + lifetime
        state.withLock { state in
            let serial = state.nextSerial
            state.nextSerial += 1
            state.entries[key] = Entry(principal: principal, expires: expires, serial: serial)
            state.order.append((key, serial))
            while state.entries.count > capacity || state.order.count > 2 * capacity, let oldest = state.order.popFirst() {
                if state.entries[oldest.key]?.serial == oldest.serial { state.entries[oldest.key] = nil }
            }
        }
    }

    /// Forgets everything (the users changed).
    public func removeAll() {
        state.withLock { $0 = State() }
    }

    /// Entries held, expired ones included until they are looked up or pushed out.
    public var count: Int { state.withLock { $0.entries.count } }
}
