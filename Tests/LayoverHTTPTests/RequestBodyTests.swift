import NIOCore
import Testing
@testable import LayoverHTTP

@Suite("RequestBody")
struct RequestBodyTests {
    static func body() -> (RequestBody, RequestBody.Producer.Source) {
        let made = RequestBody.Producer.makeSequence(
            backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false, delegate: BodyReadDemand {})
        return (RequestBody(producer: made.sequence), made.source)
    }

    static func piece(_ byte: UInt8) -> ByteBuffer { ByteBuffer(bytes: [byte]) }

    @Test("a second reader that arrives while the first waits for bytes reads on after it, in arrival order, nothing read twice or lost (a forward's body task and the connection's drain)")
    func readersTakeTurns() async throws {
        let (body, source) = Self.body()
        let first = Task { try await body.next() }
        while !body.wasRequested { await Task.yield() }
        let second = Task { try await body.next() }
        try await Task.sleep(for: .milliseconds(50))
        _ = source.yield(contentsOf: [Self.piece(1), Self.piece(2), Self.piece(3)])
        source.finish()
        let firstRead = try await first.value
        let secondRead = try await second.value
        #expect(firstRead == Self.piece(1))
        #expect(secondRead == Self.piece(2))
        #expect(try await body.next() == Self.piece(3))
        #expect(try await body.next() == nil)
        #expect(try await body.next() == nil)
    }

    @Test("a body ended by an error fails the reader waiting its turn too")
    func aFailureReachesEveryReader() async throws {
        struct Gone: Error {}
        let (body, source) = Self.body()
        let first = Task { try await body.next() }
        while !body.wasRequested { await Task.yield() }
        let second = Task { try await body.next() }
        try await Task.sleep(for: .milliseconds(50))
        source.finish(Gone())
        await #expect(throws: Gone.self) { try await first.value }
        // The failure went to the first reader; the sequence is finished for the next.
        #expect(try await second.value == nil)
    }
}
