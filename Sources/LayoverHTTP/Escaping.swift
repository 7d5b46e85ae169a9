/// Client input on its way into a log line or a response header: percent-encoded, so that no
/// byte a client chose (line breaks, quotes, spaces) can end a header or forge a log line.
enum Escaping {
    /// `text` with every byte outside printable ASCII, and `%`, `"`, `\` and space, as `%XX`.
    /// For log metadata: a `key=value` text line stays one line of one value per key.
    static func logValue(_ text: String) -> String {
        encode(text) { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "%") && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
    }

    /// `text` encoded as one query value (RFC 3986 §3.4, with `&`, `=`, `+` and `#` encoded too).
    static func queryValue(_ text: String) -> String {
        encode(text) { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default:
                "-._~!$'()*,;:@/?".utf8.contains(byte)
            }
        }
    }

    private static func encode(_ text: String, keeping keep: (UInt8) -> Bool) -> String {
        guard !text.utf8.allSatisfy(keep) else { return text }
        var out = ""
        for byte in text.utf8 {
            if keep(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return out
    }
}
