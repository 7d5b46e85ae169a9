/// A single `Range: bytes=…` request, before it is resolved against a blob's length.
///
/// Only one range is supported; a multi-range request is answered with the whole blob, as RFC 9110
/// allows a server to ignore `Range`.
public enum ByteRangeRequest: Equatable, Sendable {
    /// `bytes=first-last` (inclusive) or `bytes=first-` when `last` is nil.
    case from(first: Int64, last: Int64?)
    /// `bytes=-count`: the final `count` bytes.
    case suffix(count: Int64)

    /// Parses a `Range` header value. Returns nil for headers to ignore (other units, several
    /// ranges); throws `WireError.invalidRange` for a malformed `bytes=` specification.
    public static func parse(_ header: String) throws(WireError) -> ByteRangeRequest? {
        let trimmed = header.trimmingSpaces
        guard trimmed.hasPrefix("bytes=") else { return nil }
        let spec = trimmed.dropFirst("bytes=".count)
        if spec.contains(",") { return nil }
        guard let dash = spec.firstIndex(of: "-") else { throw .invalidRange(header) }
        let firstText = spec[..<dash]
        let lastText = spec[spec.index(after: dash)...]
        if firstText.isEmpty {
            guard let count = Int64(lastText), count >= 0 else { throw .invalidRange(header) }
            return .suffix(count: count)
        }
        guard let first = Int64(firstText), first >= 0 else { throw .invalidRange(header) }
        if lastText.isEmpty { return .from(first: first, last: nil) }
        guard let last = Int64(lastText), last >= first else { throw .invalidRange(header) }
        return .from(first: first, last: last)
    }

    /// The byte span this request selects from a blob of `length` bytes, or nil when it is
    /// unsatisfiable (answer 416 with `Content-Range: bytes */length`).
    public func resolve(length: Int64) -> ByteSpan? {
        switch self {
        case .from(let first, let last):
            guard first < length else { return nil }
            return ByteSpan(offset: first, count: min(last ?? (length - 1), length - 1) - first + 1)
        case .suffix(let count):
            guard count > 0, length > 0 else { return nil }
            let taken = min(count, length)
            return ByteSpan(offset: length - taken, count: taken)
        }
    }
}

/// A contiguous span of a blob.
public struct ByteSpan: Equatable, Sendable {
    /// The first byte's offset.
    public var offset: Int64
    /// How many bytes the span holds.
    public var count: Int64

    /// Creates a span of `count` bytes from `offset`.
    public init(offset: Int64, count: Int64) {
        self.offset = offset
        self.count = count
    }

    /// The `Content-Range` value for this span of a blob of `length` bytes.
    public func contentRange(length: Int64) -> String {
        "bytes \(offset)-\(offset + count - 1)/\(length)"
    }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        var sub = Substring(self)
        while sub.first == " " || sub.first == "\t" { sub.removeFirst() }
        while sub.last == " " || sub.last == "\t" { sub.removeLast() }
        return sub
    }
}
