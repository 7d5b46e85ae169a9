import LayoverStore
import LayoverWire
import LayoverLocks

/// What a tag resolved to for one `Accept` list, and when the upstream said so. Registries
/// negotiate: Docker Hub answers a client that accepts only single manifests with one platform's
/// manifest, and a client that accepts indexes with the index. Within a freshness window a tag
/// is answered without asking the upstream only for a request whose `Accept` would be negotiated
/// the same way, i.e. the same set of media types.
///
/// Kept in memory (a restart only costs one revalidation per tag). Thread safety: one mutex.
final class NegotiatedTags: Sendable {
    private struct Key: Hashable, Sendable {
        var repository: RepositoryKey
        var tag: Tag
        var accept: [String]
    }

    private let entries = Locked<[Key: (digest: Digest, confirmedAt: Double)]>([:])
    /// Past this many entries, expired ones are dropped on the next insertion.
    private let pruneThreshold: Int

    init(pruneThreshold: Int = 4096) {
        self.pruneThreshold = pruneThreshold
    }

    /// The digest the upstream gave for this tag and `accept` less than `window` seconds before
    /// `now`; nil when there is none, or it is older.
    func fresh(_ repository: RepositoryKey, _ tag: Tag, accept: [String], now: Double, window: Double) -> Digest? {
        let key = Key(repository: repository, tag: tag, accept: Self.normalized(accept))
        return entries.withLock { entries in
            guard let entry = entries[key], now - entry.confirmedAt < window else { return nil }
            return entry.digest
        }
    }

    /// Remembers that the upstream resolved the tag to `digest` for `accept` at `now`.
    func record(_ repository: RepositoryKey, _ tag: Tag, accept: [String], digest: Digest, now: Double, window: Double) {
        let key = Key(repository: repository, tag: tag, accept: Self.normalized(accept))
        entries.withLock { entries in
            if entries.count >= pruneThreshold { entries = entries.filter { now - $0.value.confirmedAt < window } }
            entries[key] = (digest, now)
        }
    }

    /// The media types of an `Accept` list without parameters or order: two lists that name the
    /// same types are negotiated the same.
    static func normalized(_ accept: [String]) -> [String] {
        let types = accept.map { entry in
            String(entry.split(separator: ";", maxSplits: 1).first ?? "").trimmingCharacters(in: " ").lowercased()
        }
        return Array(Set(types.filter { !$0.isEmpty })).sorted()
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> Substring {
        var sub = Substring(self)
        while sub.first == character || sub.first == "\t" { sub.removeFirst() }
        while sub.last == character || sub.last == "\t" { sub.removeLast() }
        return sub
    }
}
