import LayoverWire

/// Digests in the order they were last used, least recent first: a doubly linked list threaded
/// through a dictionary, so that appending, moving to the back and removing are O(1) and the
/// evictor reads candidates from the front without sorting anything.
struct RecencyList: Sendable {
    private struct Links: Sendable {
        var previous: Digest?
        var next: Digest?
    }

    private var links: [Digest: Links] = [:]
    private var first: Digest?
    private var last: Digest?

    /// Appends `digest` as the most recently used; moves it there when already listed.
    mutating func append(_ digest: Digest) {
        if links[digest] != nil { remove(digest) }
        links[digest] = Links(previous: last, next: nil)
        if let last { links[last]!.next = digest } else { first = digest }
        last = digest
    }

    /// Marks a listed digest as the most recently used; does nothing for one not listed.
    mutating func moveToBack(_ digest: Digest) {
        guard links[digest] != nil, last != digest else { return }
        append(digest)
    }

    mutating func remove(_ digest: Digest) {
        guard let entry = links.removeValue(forKey: digest) else { return }
        if let previous = entry.previous { links[previous]!.next = entry.next } else { first = entry.next }
        if let next = entry.next { links[next]!.previous = entry.previous } else { last = entry.previous }
    }

    /// Digests from least to most recently used, as long as `body` returns true.
    func walk(_ body: (Digest) -> Bool) {
        var cursor = first
        while let digest = cursor, body(digest) { cursor = links[digest]?.next }
    }
}
