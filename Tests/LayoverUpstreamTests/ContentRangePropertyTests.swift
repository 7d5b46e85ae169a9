@testable import LayoverUpstream
import PropertyBased
import Testing

/// An upstream's `Content-Range` answer decides where a resumed download continues: it must never
/// be taken with its end before its start, a total not past its end, or numbers that overflow.
@Suite("Content-Range answers, properties")
struct ContentRangePropertyTests {
    /// A number as a header may carry it: small, near the end of Int64, or past it.
    static let number = zip(Gen.bool, Gen.uint64(in: 0...4096), Gen.uint64(in: UInt64(Int64.max) - 2048...UInt64(Int64.max) + 2048))
        .map { huge, small, large in huge ? large : small }

    @Test("accepted only with 0 <= start <= end < total, each an Int64, and then exactly as written")
    func acceptsOnlyOrderedRanges() async {
        await propertyCheck(count: 500, input: Self.number, Self.number, Self.number, Gen.bool) { start, end, total, unknownTotal in
            let totalText = unknownTotal ? "*" : "\(total)"
            let header = "bytes \(start)-\(end)/\(totalText)"
            let valid = start <= UInt64(Int64.max) && end <= UInt64(Int64.max) && start <= end
                && (unknownTotal || (total <= UInt64(Int64.max) && total > end))
            let range = ContentRange(header)
            #expect((range != nil) == valid, "\(header)")
            if let range {
                #expect(range.start == Int64(start) && range.end == Int64(end), "\(header)")
                #expect(range.total == (unknownTotal ? nil : Int64(total)), "\(header)")
            }
        }
    }
}
