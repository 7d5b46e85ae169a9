import NIOCore
import NIOHTTP1
import Synchronization

/// Sends a span of a stored file as `FileRegion`s (sendfile), on the connection's event loop.
///
/// How it cuts the span depends on what else is going out. While this is the only file body in
/// flight in the process, it goes in 32 KiB regions, written in batches of 16 with two batches
/// queued: the kernel hands each piece to the receiver while the next is being sent, so sender
/// and receiver work in parallel (measured by hand with curl against a `layover serve`, one
/// client of a 1 GiB blob on loopback, 2 cores; `loadtests/run --only warm` shows the first: about
/// 5.1 GB/s and 0.20 CPU-s/GiB, against about 3 GB/s and 0.34 for one region). As soon as
/// another file body is in flight, the rest of each body goes as one region: with many streams
/// the cores are busy anyway and one sendfile per socket buffer's worth costs least (8 curl
/// clients at once, by hand: about 4.4 GB/s and 0.15 CPU-s/GiB; 32 KiB pieces there: 1.9 GB/s
/// and 0.30).
final class FileBodySender {
    /// File bodies being sent, process-wide.
    private static let active = Atomic<Int>(0)
    static let pieceSize: Int64 = 32 << 10
    /// Pieces written (and flushed) together; one promise per batch.
    static let batch: Int64 = 16
    /// Batches queued at once, so the socket never waits for the next one.
    static let batchesInFlight = 2

    private let target: any ResponseTarget
    private let handle: NIOFileHandle
    private let end: Int64
    private var next: Int64
    private var inFlight = 0
    private var finished = false
    private let done: EventLoopPromise<Void>

    /// Starts sending `count` bytes at `offset` of `handle` on `target`; the future completes
    /// when the last byte was handed to the socket, or fails with the first write error.
    static func send(_ handle: NIOFileHandle, offset: Int64, count: Int64, on target: any ResponseTarget) -> EventLoopFuture<Void> {
        let promise = target.eventLoop.makePromise(of: Void.self)
        target.eventLoop.execute {
            let sender = FileBodySender(target: target, handle: handle, offset: offset, count: count, done: promise)
            active.add(1, ordering: .relaxed)
            sender.pump()
        }
        return promise.futureResult
    }

    private init(target: any ResponseTarget, handle: NIOFileHandle, offset: Int64, count: Int64, done: EventLoopPromise<Void>) {
        self.target = target
        self.handle = handle
        self.next = offset
        self.end = offset + count
        self.done = done
    }

    private func pump() {
        if next == end, inFlight == 0 { return finish(.success(())) }
        while !finished, next < end, inFlight < Self.batchesInFlight {
            let alone = Self.active.load(ordering: .relaxed) == 1
            let stop = alone ? min(next + Self.pieceSize * Self.batch, end) : end
            let written = target.eventLoop.makePromise(of: Void.self)
            while next < stop {
                let pieceEnd = alone ? min(next + Self.pieceSize, stop) : stop
                let region = FileRegion(fileHandle: handle, readerIndex: Int(next), endIndex: Int(pieceEnd))
                next = pieceEnd
                target.write(HTTPServerResponsePart.body(.fileRegion(region)), promise: next == stop ? written : nil)
            }
            target.flush()
            inFlight += 1
            written.futureResult.assumeIsolated().whenComplete { result in
                self.inFlight -= 1
                switch result {
                case .failure(let error): self.finish(.failure(error))
                case .success: self.pump()
                }
            }
        }
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !finished else { return }
        finished = true
        Self.active.add(-1, ordering: .relaxed)
        done.completeWith(result)
    }
}
