import LayoverLocks

/// The blob uploads replication jobs are running, by upstream repository and digest. A job that
/// needs a blob another job is sending to the same repository waits for that send to end and
/// looks again, instead of sending the same bytes a second time: BuildKit pushes an image and its
/// cache, which share layers, at once, and two sends of one blob also race in the upstream's
/// storage (distribution rewrites the repository's link to it while the other job's manifest
/// reads it).
final class BlobSends: Sendable {
    private let running = Locked<[String: [CheckedContinuation<Bool, Never>]]>([:])

    /// The key of `digest`'s send to `repository` (which names its upstream).
    static func key(_ repository: some CustomStringConvertible, _ digest: some CustomStringConvertible) -> String {
        "\(repository)@\(digest)"
    }

    /// True at once when no send of `key` runs: the caller sends it and must call `end(key)`.
    /// Otherwise false once the running send ended (sent or failed): the caller looks again.
    func claim(_ key: String) async -> Bool {
        await withCheckedContinuation { continuation in
            let claimed = running.withLock { running in
                guard running[key] != nil else {
                    running[key] = []
                    return true
                }
                running[key]!.append(continuation)
                return false
            }
            if claimed { continuation.resume(returning: true) }
        }
    }

    /// The send of `key` ended: its waiters look again.
    func end(_ key: String) {
        for waiter in running.withLock({ $0.removeValue(forKey: key) }) ?? [] { waiter.resume(returning: false) }
    }

    /// Claims of `key` waiting for its running send to end.
    func waiters(_ key: String) -> Int { running.withLock { $0[key]?.count ?? 0 } }
}
