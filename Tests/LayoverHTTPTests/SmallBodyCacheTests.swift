import LayoverWire
import NIOCore
import Testing
@testable import LayoverHTTP

@Suite("SmallBodyCache")
struct SmallBodyCacheTests {
    static func digest(_ number: Int) -> Digest {
        try! Digest(parsing: "sha256:" + String(repeating: "0", count: 56) + String(format: "%08x", number))
    }

    static func body(_ size: Int, _ byte: UInt8) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        buffer.writeRepeatingByte(byte, count: size)
        return buffer
    }

    @Test func keepsAndReturnsTheSameBytes() {
        let cache = SmallBodyCache(capacity: 1 << 20)
        #expect(cache.body(Self.digest(1)) == nil)
        cache.keep(Self.body(100, 7), for: Self.digest(1))
        #expect(cache.body(Self.digest(1)) == Self.body(100, 7))
        #expect(cache.body(Self.digest(2)) == nil)
    }

    @Test func staysWithinItsCapacityDroppingTheOldestFirst() {
        let cache = SmallBodyCache(capacity: 8 << 10)
        for number in 0..<100 {
            cache.keep(Self.body(1 << 10, UInt8(number)), for: Self.digest(number))
            #expect(cache.bytes <= 8 << 10)
        }
        // The last eight fit; everything before them was dropped, oldest first.
        for number in 0..<92 { #expect(cache.body(Self.digest(number)) == nil) }
        for number in 92..<100 { #expect(cache.body(Self.digest(number)) == Self.body(1 << 10, UInt8(number))) }
    }

    @Test func aBodyOverAnEighthOfTheCapacityIsNotKept() {
        let cache = SmallBodyCache(capacity: 8 << 10)
        cache.keep(Self.body((1 << 10) + 1, 1), for: Self.digest(1))
        #expect(cache.body(Self.digest(1)) == nil)
        #expect(cache.bytes == 0)
    }

    @Test func keepingADigestTwiceKeepsTheFirst() {
        let cache = SmallBodyCache(capacity: 1 << 20)
        cache.keep(Self.body(10, 1), for: Self.digest(1))
        cache.keep(Self.body(10, 2), for: Self.digest(1))
        #expect(cache.body(Self.digest(1)) == Self.body(10, 1))
        #expect(cache.bytes == Self.body(10, 1).capacity)
    }
}
