import LayoverWire

/// `NAME[:TAG|@DIGEST]` as users write it (`ghcr.io/org/app:buildcache`, `alpine`), split into the
/// name Layover routes by and the reference (`latest` when none is given).
struct ImageReference: Sendable, CustomStringConvertible {
    var name: String
    var reference: Reference

    init(parsing text: String) throws {
        if let at = text.firstIndex(of: "@") {
            name = String(text[..<at])
            reference = try Reference(parsing: text[text.index(after: at)...])
        } else if let colon = text.lastIndex(of: ":"), !text[colon...].contains("/") {
            name = String(text[..<colon])
            reference = try Reference(parsing: text[text.index(after: colon)...])
        } else {
            name = text
            reference = try Reference(parsing: "latest")
        }
        guard !name.isEmpty else { throw WarmError("\(text): no repository name") }
    }

    var description: String {
        if case .digest = reference { return "\(name)@\(reference)" }
        return "\(name):\(reference)"
    }
}

/// Why warming an image failed, in words for the terminal.
struct WarmError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
