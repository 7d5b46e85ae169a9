import Crypto

/// Rendezvous (highest-random-weight) hashing: a key's owner is the member whose hash with the
/// key weighs most. Pure: the same members and key give the same owner on every node, whatever
/// the order of the list, and a member leaving moves only the keys it owned.
public enum Rendezvous {
    /// The owner of `key` among `members`; nil when there are none.
    public static func owner(of key: String, among members: some Sequence<Member>) -> Member? {
        ranked(key, among: members).first
    }

    /// `members` from the heaviest to the lightest for `key`: the owner first, then the member
    /// that owned the key before the owner joined (the owner among the others), and so on.
    /// Equal weights (practically never) are broken by the URL, so the order stays total.
    public static func ranked(_ key: String, among members: some Sequence<Member>) -> [Member] {
        members.map { ($0, weight($0, key)) }
            .sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
            .map(\.0)
    }

    /// The first 8 bytes of SHA-256(member URL, NUL, key): uniform, and the same on every platform.
    static func weight(_ member: Member, _ key: String) -> UInt64 {
        var hasher = SHA256()
        hasher.update(data: Array(member.url.utf8))
        hasher.update(data: [0])
        hasher.update(data: Array(key.utf8))
        return hasher.finalize().withUnsafeBytes { bytes in
            bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
        }
    }
}
