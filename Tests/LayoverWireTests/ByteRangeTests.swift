import Testing
@testable import LayoverWire

@Suite("ByteRangeRequest and ByteSpan")
struct ByteRangeTests {
    @Test("parses single ranges", arguments: [
        ("bytes=0-99", ByteRangeRequest.from(first: 0, last: 99)),
        ("bytes=100-", .from(first: 100, last: nil)),
        ("bytes=-500", .suffix(count: 500)),
        ("bytes=7-7", .from(first: 7, last: 7)),
        ("  bytes=1-2\t", .from(first: 1, last: 2)),
        ("bytes=-0", .suffix(count: 0)),
    ])
    func parses(_ header: String, _ expected: ByteRangeRequest) throws {
        #expect(try ByteRangeRequest.parse(header) == expected)
    }

    @Test("ignores ranges it does not serve", arguments: [
        "items=0-1", "bytes 0-1", "", "bytes=0-1,4-5", "bytes=0-1, -5",
    ])
    func ignores(_ header: String) throws {
        #expect(try ByteRangeRequest.parse(header) == nil)
    }

    @Test("refuses malformed byte ranges", arguments: [
        "bytes=5", "bytes=5-4", "bytes=a-b", "bytes=-", "bytes=-1-2", "bytes=1-x", "bytes=", "bytes=-x",
    ])
    func refuses(_ header: String) {
        #expect(throws: WireError.invalidRange(header)) { try ByteRangeRequest.parse(header) }
    }

    @Test func resolvesFromRanges() {
        #expect(ByteRangeRequest.from(first: 0, last: 99).resolve(length: 1000) == ByteSpan(offset: 0, count: 100))
        #expect(ByteRangeRequest.from(first: 900, last: 2000).resolve(length: 1000) == ByteSpan(offset: 900, count: 100))
        #expect(ByteRangeRequest.from(first: 10, last: nil).resolve(length: 1000) == ByteSpan(offset: 10, count: 990))
        #expect(ByteRangeRequest.from(first: 999, last: nil).resolve(length: 1000) == ByteSpan(offset: 999, count: 1))
    }

    @Test func unsatisfiableFromRangesResolveToNil() {
        #expect(ByteRangeRequest.from(first: 1000, last: nil).resolve(length: 1000) == nil)
        #expect(ByteRangeRequest.from(first: 1000, last: 1200).resolve(length: 1000) == nil)
        #expect(ByteRangeRequest.from(first: 0, last: nil).resolve(length: 0) == nil)
    }

    @Test func resolvesSuffixRanges() {
        #expect(ByteRangeRequest.suffix(count: 500).resolve(length: 1000) == ByteSpan(offset: 500, count: 500))
        #expect(ByteRangeRequest.suffix(count: 5000).resolve(length: 1000) == ByteSpan(offset: 0, count: 1000))
        #expect(ByteRangeRequest.suffix(count: 1).resolve(length: 1) == ByteSpan(offset: 0, count: 1))
        #expect(ByteRangeRequest.suffix(count: 0).resolve(length: 1000) == nil)
        #expect(ByteRangeRequest.suffix(count: 5).resolve(length: 0) == nil)
    }

    @Test func contentRangeIsInclusive() {
        #expect(ByteSpan(offset: 0, count: 100).contentRange(length: 1000) == "bytes 0-99/1000")
        #expect(ByteSpan(offset: 999, count: 1).contentRange(length: 1000) == "bytes 999-999/1000")
    }

    @Test func trimmingSpacesRemovesOnlySpacesAndTabs() {
        #expect(" \t a b \t ".trimmingSpaces == "a b")
        #expect("\n".trimmingSpaces == "\n")
        #expect("   ".trimmingSpaces == "")
    }
}
