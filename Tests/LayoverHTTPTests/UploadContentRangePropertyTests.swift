@testable import LayoverHTTP
import PropertyBased
import Testing

/// A chunk's `Content-Range` places its bytes in an upload: it must never be taken with its end
/// before its start, a negative start, or an end so large that the chunk's length overflows.
@Suite("Upload Content-Range, properties")
struct UploadContentRangePropertyTests {
    /// A number as a header may carry it: small, near the end of Int64, or past it.
    static let number = zip(Gen.bool, Gen.uint64(in: 0...4096), Gen.uint64(in: UInt64(Int64.max) - 2048...UInt64(Int64.max) + 2048))
        .map { huge, small, large in huge ? large : small }

    static let prefix = Gen<String?>.element(of: ["", "bytes=", "bytes "]).map { $0! }

    @Test("accepted only with 0 <= start <= end < 2^50, and then exactly as written")
    func acceptsOnlyOrderedRanges() async {
        await propertyCheck(count: 500, input: Self.prefix, Self.number, Self.number, Gen.bool) { prefix, start, end, openEnded in
            let header = openEnded ? "\(prefix)\(start)-" : "\(prefix)\(start)-\(end)"
            let valid = start <= UInt64(Int64.max) && (openEnded || (start <= end && end < 1 << 50))
            let range = try? RegistryResponder.contentRange(header)
            #expect((range != nil) == valid, "\(header)")
            if let range {
                #expect(range.start == Int64(start) && range.end == (openEnded ? nil : Int64(end)), "\(header)")
            }
        }
    }
}
