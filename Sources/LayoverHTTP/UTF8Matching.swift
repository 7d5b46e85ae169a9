/// Byte-wise matching over a string's UTF-8, for the parsing every request goes through
/// (`Route`, `Request`): no Foundation bridging, no `Character` segmentation, no allocation
/// until a piece is kept as a `String`. ASCII literals only.
extension UnsafeBufferPointer<UInt8> {
    func equals(_ literal: StaticString) -> Bool {
        count == literal.utf8CodeUnitCount && hasPrefix(literal)
    }

    func hasPrefix(_ literal: StaticString) -> Bool {
        let length = literal.utf8CodeUnitCount
        guard count >= length else { return false }
        return literal.withUTF8Buffer { self[0..<length].elementsEqual($0) }
    }

    func hasSuffix(_ literal: StaticString) -> Bool {
        let length = literal.utf8CodeUnitCount
        guard count >= length else { return false }
        return literal.withUTF8Buffer { self[(count - length)...].elementsEqual($0) }
    }

    /// The offsets of the last occurrence of `literal` (a non-empty ASCII string), if any.
    func lastRange(of literal: StaticString) -> Range<Int>? {
        literal.withUTF8Buffer { needle -> Range<Int>? in
            guard let first = needle.first, count >= needle.count else { return nil }
            var start = count - needle.count
            while start >= 0 {
                if self[start] == first, self[start..<(start + needle.count)].elementsEqual(needle) {
                    return start..<(start + needle.count)
                }
                start -= 1
            }
            return nil
        }
    }

    /// The bytes at `range` as a `String` (a slice of valid UTF-8 cut at ASCII bytes stays valid).
    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: self[range]), as: UTF8.self)
    }
}
