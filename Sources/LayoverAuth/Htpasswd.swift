/// Parses an htpasswd file as `htpasswd -B` writes it: `user:$2y$05$…` per line; blank lines
/// and `#` comments skipped. Only bcrypt (`$2y$`, `$2b$`, `$2a$`) is accepted: other kinds (MD5
/// `$apr1$`, `{SHA}`, crypt, plain text) are refused with the line that holds them, so that a
/// weak or unreadable entry never silently locks a user out or lets one in.
public enum Htpasswd {
    /// User name → bcrypt hash. `path` only names the file in errors.
    public static func parse(_ text: String, path: String) throws(AuthError) -> [String: String] {
        var table: [String: String] = [:]
        // `\r\n` is one Character, and a newline like `\n`.
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) || line.first == "#" { continue }
            func refuse(_ reason: String) -> AuthError { .invalidEntry(path: path, line: index + 1, reason: reason) }
            guard let colon = line.firstIndex(of: ":") else { throw refuse("expected user:hash") }
            let user = String(line[..<colon])
            guard !user.isEmpty else { throw refuse("empty user name") }
            // Apache's htpasswd may append `:comment` fields; the hash is the second field.
            let hash = String(line[line.index(after: colon)...].prefix { $0 != ":" })
            if let kind = unsupportedKind(hash) {
                throw refuse("user \(user): \(kind) is not supported; recreate the entry with `htpasswd -B`")
            }
            guard isBcrypt(hash) else { throw refuse("user \(user): malformed bcrypt hash") }
            guard table[user] == nil else { throw refuse("user \(user) appears twice") }
            table[user] = hash
        }
        return table
    }

    /// `$2a$`/`$2b$`/`$2y$`, a two-digit cost 04–31, `$`, then 53 characters of bcrypt's base64.
    static func isBcrypt(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "2"),
              [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]),
              bytes[3] == UInt8(ascii: "$"), bytes[6] == UInt8(ascii: "$"),
              let cost = Int(String(decoding: bytes[4...5], as: UTF8.self)), (4...31).contains(cost)
        else { return false }
        return bytes[7...].allSatisfy { byte in
            (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")
        }
    }

    /// The name of a hash kind other than bcrypt, when it is recognisable.
    static func unsupportedKind(_ hash: String) -> String? {
        if hash.hasPrefix("$apr1$") { return "an MD5 ($apr1$) hash" }
        if hash.hasPrefix("{SHA}") { return "a SHA-1 ({SHA}) hash" }
        if hash.hasPrefix("$1$") { return "an MD5-crypt ($1$) hash" }
        if hash.hasPrefix("$5$") || hash.hasPrefix("$6$") { return "a SHA-crypt hash" }
        if hash.hasPrefix("$2") { return nil }
        if hash.utf8.count == 13 { return "a DES crypt hash" }
        return "a hash that is not bcrypt (or a plain-text password)"
    }
}
