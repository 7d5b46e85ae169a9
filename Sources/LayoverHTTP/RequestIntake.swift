import NIOCore
import NIOHTTP1

/// The request side of an HTTP/1.1 connection's handler (`HTTP1Connection` on the front,
/// `RegistryChannelHandler` behind the intercept proxy): turns the decoder's parts into requests
/// to answer and moves the connection's deadlines. A request that may carry a body is ready at
/// its head, its body fed in as it arrives with backpressure; any other at its end. Used on the
/// connection's event loop only.
final class RequestIntake {
    /// The connection's idle, head and body deadlines.
    let deadline: ConnectionDeadline
    private let requests: any HTTP1Requests
    /// A bodiless request's head, until its end is read.
    private var head: HTTPRequestHead?
    private var bodySource: RequestBody.Producer.Source?
    /// The body's reader is behind: the connection holds its reads until `resumed` runs.
    private(set) var readsPaused = false
    /// Runs the tasks of requests that stay on the event loop; made on first use.
    private var loopExecutor: EventLoopTaskExecutor?

    init(requests: any HTTP1Requests, deadline: ConnectionDeadline) {
        self.requests = requests
        self.deadline = deadline
    }

    /// Takes one part of a request; returns the request once it is ready. `resumed` runs on the
    /// event loop when a body's reader has caught up after the reads were paused.
    func take(_ part: HTTPServerRequestPart, context: ChannelHandlerContext,
              resumed: @escaping (ChannelHandlerContext) -> Void) -> Request? {
        switch part {
        case .head(let head):
            let mayHaveBody = RequestDispatch.mayHaveBody(head)
            deadline.headReceived(body: mayHaveBody)
            guard mayHaveBody else {
                self.head = head
                return nil
            }
            let loopBound = NIOLoopBound((self, context, resumed), eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            let (source, body) = RequestDispatch.body(of: head, answeringOn: ChannelTarget(channel: context.channel)) {
                eventLoop.execute {
                    let (intake, context, resumed) = loopBound.value
                    intake.readsPaused = false
                    resumed(context)
                }
            }
            bodySource = source
            return requests.request(head, body: body, remoteAddress: context.channel.remoteAddress)
        case .body(let buffer):
            if case .stopProducing = bodySource?.yield(buffer) { readsPaused = true }
            return nil
        case .end:
            if let bodySource {
                deadline.bodyEnded()
                bodySource.finish()
                self.bodySource = nil
                return nil
            }
            guard let head else { return nil }
            self.head = nil
            return requests.request(head, body: .empty, remoteAddress: context.channel.remoteAddress)
        }
    }

    /// Answers `request` onto the connection.
    func answer(_ request: Request, on channel: any Channel, transport: ResponseWriter.Transport) {
        requests.answer(request, on: channel, transport: transport, loopExecutor: eventLoopExecutor(channel.eventLoop))
    }

    /// The connection failed or closed: a body being read ends with `error`.
    func fail(_ error: any Error) {
        bodySource?.finish(error)
        bodySource = nil
    }

    private func eventLoopExecutor(_ eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        if let loopExecutor { return loopExecutor }
        let made = EventLoopTaskExecutor(eventLoop)
        loopExecutor = made
        return made
    }
}
