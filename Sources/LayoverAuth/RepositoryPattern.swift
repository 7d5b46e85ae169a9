/// A glob over repository names as `<upstream>/<repository>`: `*` matches any run of characters,
/// `/` included (`ghcr.io/org/*` covers `ghcr.io/org/app` and `ghcr.io/org/team/app`), `?` one
/// character; everything else matches itself. Names are compared byte for byte (case matters).
public struct RepositoryPattern: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    private let bytes: [UInt8]

    public init(_ text: String) {
        self.text = text
        bytes = Array(text.utf8)
    }

    public var description: String { text }

    /// Whether `name` matches the whole pattern.
    public func matches(_ name: String) -> Bool {
        let subject = Array(name.utf8)
        var p = 0
        var s = 0
        // Where the last `*` was, and where its current match ends: on a mismatch the star
        // swallows one more byte (linear backtracking; no exponential blow-up).
        var starAt: Int?
        var starEnd = 0
        while s < subject.count {
            if p < bytes.count, bytes[p] == UInt8(ascii: "*") {
                starAt = p
                starEnd = s
                p += 1
            } else if p < bytes.count, bytes[p] == UInt8(ascii: "?") || bytes[p] == subject[s] {
                p += 1
                s += 1
            } else if let star = starAt {
                p = star + 1
                starEnd += 1
                s = starEnd
            } else {
                return false
            }
        }
        while p < bytes.count, bytes[p] == UInt8(ascii: "*") { p += 1 }
        return p == bytes.count
    }
}
