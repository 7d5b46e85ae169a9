import LayoverLocks
import LayoverStore
import LayoverWire

/// Who is in the fleet now, and who owns what (DESIGN §8). The list is static or replaced by the
/// DNS refresh; every answer reads one consistent list.
///
/// Thread safety: safe to use from any task; `replace` and the owner queries take one lock.
public final class Membership: Sendable {
    /// This node.
    public let me: Member
    private let members: Locked<[Member]>

    /// - Parameters:
    ///   - me: this node, as its peers reach it.
    ///   - members: every member; `me` is counted in even when missing from it.
    public init(me: Member, members: [Member]) {
        self.me = me
        self.members = Locked(Self.withSelf(members, me))
    }

    /// The members, sorted.
    public var current: [Member] { members.withLock { $0 } }

    /// Replaces the list (a DNS refresh); returns whether it changed.
    @discardableResult
    public func replace(with members: [Member]) -> Bool {
        let updated = Self.withSelf(members, me)
        return self.members.withLock { list in
            guard list != updated else { return false }
            list = updated
            return true
        }
    }

    /// The owner of a blob's content; nil when it is this node.
    public func owner(of digest: Digest) -> Member? {
        other(Rendezvous.owner(of: Self.key(digest), among: current))
    }

    /// When this node owns `digest`: the member that would own it without this node (its owner
    /// before this node joined), which may still hold it; nil when this node is alone or not the owner.
    public func previousOwner(of digest: Digest) -> Member? {
        let ranked = Rendezvous.ranked(Self.key(digest), among: current)
        guard ranked.first == me, ranked.count > 1 else { return nil }
        return ranked[1]
    }

    private static func key(_ digest: Digest) -> String { "blob:\(digest)" }

    /// The owner of a repository's tags, manifest pushes, uploads and replication; nil when it is
    /// this node.
    public func owner(of repository: RepositoryKey) -> Member? {
        other(Rendezvous.owner(of: "repository:\(repository)", among: current))
    }

    /// The share of keys this node owns with the current members, counted over `samples` fixed
    /// keys (digests and repositories alike are hashed the same way): near 1 / members, off by
    /// the hash's spread for these URLs.
    public func ownedShare(samples: Int = 2048) -> Double {
        let members = current
        guard members.count > 1, samples > 0 else { return 1 }
        let owned = (0..<samples).count { Rendezvous.owner(of: "share-sample:\($0)", among: members) == me }
        return Double(owned) / Double(samples)
    }

    /// A member by URL, when it is one now (a URL from a client is never trusted as a peer).
    public func member(named url: String) -> Member? {
        current.first { $0.url == url }
    }

    private func other(_ owner: Member?) -> Member? {
        owner == me ? nil : owner
    }

    private static func withSelf(_ members: [Member], _ me: Member) -> [Member] {
        Array(Set(members + [me])).sorted()
    }
}
