import Dispatch
import HummingbirdBcrypt
import LayoverLocks

/// Checks passwords against bcrypt hashes on threads of its own: a check costs 50–100 ms of CPU
/// at usual costs and must block neither a NIO event loop nor Swift's cooperative pool. At most
/// `width` checks run at once (one serial queue each); more wait their turn.
public final class BcryptVerifier: Sendable {
    private let queues: [DispatchQueue]
    private let next = Locked(0)

    public init(width: Int = 2) {
        queues = (0..<max(1, width)).map { DispatchQueue(label: "layover.bcrypt.\($0)", qos: .userInitiated) }
    }

    /// Whether `password` matches `hash` (`$2a$`, `$2b$` or `$2y$`).
    public func verify(_ password: String, hash: String) async -> Bool {
        let queue = next.withLock { index -> DispatchQueue in
            defer { index = (index + 1) % queues.count }
            return queues[index]
        }
        return await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: Self.check(password, hash: hash)) }
        }
    }

    /// `$2y$` (what `htpasswd -B` writes) is the same algorithm as `$2b$`, which the C code knows.
    /// A password with a NUL byte cannot be passed to it and never matches.
    static func check(_ password: String, hash: String) -> Bool {
        guard !password.utf8.contains(0) else { return false }
        let normalized = hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
        return Bcrypt.verify(password, hash: normalized)
    }
}
