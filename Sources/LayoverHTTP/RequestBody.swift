import LayoverLocks
import NIOCore

/// A request body as it arrives, with backpressure: the connection stops reading from the socket
/// while the consumer is behind, so an upload streams to disk without piling up in memory.
///
/// Readers take turns: the responder (or a forward's body task) reads first, then the connection
/// drains what is left, even while an earlier reader still waits for bytes; every iteration
/// continues from the same position (hence a class, `@unchecked Sendable`: its state changes only
/// inside a turn).
public final class RequestBody: AsyncSequence, @unchecked Sendable {
    public typealias Element = ByteBuffer
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, BodyReadDemand
    >

    private let producer: Producer?
    private var iterator: Producer.AsyncIterator?
    /// Called once, when the body is first asked for: sends `100 Continue` to a client that
    /// waits for it (`Expect: 100-continue`) before sending the body.
    private var onFirstRead: (@Sendable () -> Void)?
    /// Whether the client waits for `100 Continue` before sending the body.
    let expectsContinue: Bool
    /// Whether anyone has asked for the body yet.
    var wasRequested: Bool { requested.withLock { $0 } }
    private let requested = Locked(false)
    private let turn = ReadTurn()

    init(producer: Producer?, onFirstRead: (@Sendable () -> Void)? = nil) {
        self.producer = producer
        self.onFirstRead = onFirstRead
        self.expectsContinue = onFirstRead != nil
    }

    /// A body with no bytes (GET, HEAD, DELETE…).
    public static var empty: RequestBody { RequestBody(producer: nil) }

    /// The next piece of the body; nil at its end.
    public func next() async throws -> ByteBuffer? {
        guard let producer else { return nil }
        return try await turn.take {
            if iterator == nil {
                requested.withLock { $0 = true }
                onFirstRead?()
                onFirstRead = nil
                iterator = producer.makeAsyncIterator()
            }
            return try await iterator?.next()
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let body: RequestBody

        public mutating func next() async throws -> ByteBuffer? {
            try await body.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(body: self)
    }

    /// The whole body, refused with `RequestBodyError.tooLarge` past `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var collected = ByteBuffer()
        for try await var chunk in self {
            guard collected.readableBytes + chunk.readableBytes <= limit else { throw RequestBodyError.tooLarge(limit: limit) }
            collected.writeBuffer(&chunk)
        }
        return collected
    }
}

/// Why a request body could not be read.
public enum RequestBodyError: Error, Equatable {
    case tooLarge(limit: Int)
}

/// Asks the connection for more bytes when the body's consumer has caught up.
struct BodyReadDemand: NIOAsyncSequenceProducerDelegate {
    let resume: @Sendable () -> Void

    func produceMore() { resume() }
    func didTerminate() { resume() }
}
