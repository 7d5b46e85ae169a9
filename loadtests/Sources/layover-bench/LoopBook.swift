import Dispatch
import NIOCore

/// One connection's loop of a closed-loop load: the paths in turn, the deadline or the number of
/// requests left, and the latency of every answer.
struct LoopBook {
    let paths: [String]
    /// The path sent next.
    var next: Int
    let deadline: NIODeadline
    /// Requests left to send, when limited.
    var remaining: Int?
    var sentAt: UInt64 = 0
    var latencies: [UInt64] = []
    var errors = 0

    init(paths: [String], first: Int, deadline: NIODeadline, limit: Int?) {
        self.paths = paths
        next = first
        self.deadline = deadline
        remaining = limit
        latencies.reserveCapacity(200_000)
    }

    /// Whether the loop has nothing to send at all (a limited pass with no path for it).
    var isEmpty: Bool { remaining == 0 }

    /// Starts a request's clock; the index of the path to send.
    mutating func begin() -> Int {
        remaining = remaining.map { $0 - 1 }
        let path = next
        next = (next + 1) % paths.count
        sentAt = DispatchTime.now().uptimeNanoseconds
        return path
    }

    /// Records the answer's latency; whether to send another request.
    mutating func finish() -> Bool {
        latencies.append(DispatchTime.now().uptimeNanoseconds - sentAt)
        return NIODeadline.now() < deadline && remaining != 0
    }
}

/// A connection of the closed-loop load, started once every connection is open.
protocol LoadConnection: AnyObject, Sendable {
    var book: LoopBook { get }
    var context: ChannelHandlerContext? { get }
    /// Sends the next request (on the connection's event loop).
    func send()
}

extension LoadConnection {
    /// Sends the first request, or closes a connection that has none to send.
    func start() {
        guard let context else { return }
        context.eventLoop.execute { if self.book.isEmpty { context.close(promise: nil) } else { self.send() } }
    }

    /// The latencies of the answers and the number of errors (on the connection's event loop, or after it closed).
    func results() -> ([UInt64], Int) { (book.latencies, book.errors) }
}
