import NIOCore
import NIOEmbedded
import Testing
@testable import LayoverHTTP

/// The listener's accept gate: accepting holds while the connections it accepted reach the
/// tracker's limit, resumes when one closes, and meanwhile makes room by closing overflow
/// connections that had their turn.
@Suite("Accept gate")
struct AcceptGateTests {
    @Test("accepting holds at the limit (maximum and overflow) and resumes when an accepted connection closes")
    func holdsAtTheLimit() throws {
        let loop = EmbeddedEventLoop()
        let tracker = ConnectionTracker(maximum: 8)
        #expect(tracker.acceptLimit == 8 + ConnectionTracker.overflowAllowance(8))
        let listener = EmbeddedChannel(loop: loop)
        let counter = HTTP1ConnectionTests.ReadCounter()  // the reads (accepts) reaching the socket
        try listener.pipeline.syncOperations.addHandler(counter)
        try listener.pipeline.syncOperations.addHandler(AcceptGate(connections: tracker))
        var accepted: [EmbeddedChannel] = []
        for _ in 0..<tracker.acceptLimit - 1 {
            let child = EmbeddedChannel(loop: loop)
            accepted.append(child)
            try listener.writeInbound(child as any Channel)
        }
        listener.read()
        #expect(counter.reads == 1, "below the limit: accepting goes on")
        let last = EmbeddedChannel(loop: loop)
        try listener.writeInbound(last as any Channel)
        listener.read()
        #expect(counter.reads == 1, "at the limit: the accept is held")
        _ = try accepted[0].finish()
        loop.run()
        #expect(counter.reads == 2, "one closed: the held accept goes out")
    }

    @Test("while accepting is held, overflow connections older than a turn are closed; served ones stay")
    func overflowMakesRoom() throws {
        let loop = EmbeddedEventLoop()
        let tracker = ConnectionTracker(maximum: 2)
        let listener = EmbeddedChannel(loop: loop)
        try listener.pipeline.syncOperations.addHandler(AcceptGate(connections: tracker))
        var served: [EmbeddedChannel] = [], overflow: [EmbeddedChannel] = []
        for index in 0..<tracker.acceptLimit {
            let child = EmbeddedChannel(loop: loop)
            try child.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            #expect(tracker.opened(child) == (index < 2 ? .served : .overflow))
            if index < 2 { served.append(child) } else { overflow.append(child) }
            try listener.writeInbound(child as any Channel)
        }
        listener.read()
        loop.advanceTime(by: AcceptGate.overflowTurn * 2)
        #expect(overflow.allSatisfy { !$0.isActive }, "overflow connections had their turn")
        #expect(served.allSatisfy { $0.isActive }, "served connections are not touched")
    }
}
