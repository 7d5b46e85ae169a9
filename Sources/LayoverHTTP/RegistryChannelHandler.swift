import Logging
import NIOCore
import NIOHTTP1

/// The per-connection handler: collects one request at a time (NIO's pipelining handler holds
/// the next one back until this answer's end is written), asks the responder, writes the answer.
final class RegistryChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: RegistryResponder
    private var head: HTTPRequestHead?

    init(responder: RegistryResponder) {
        self.responder = responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let request = Request(head: head)
            let channel = context.channel
            let responder = self.responder
            Task {
                let response = await responder.respond(to: request)
                await ResponseWriter.write(response, keepAlive: request.keepAlive, headOnly: request.method == .HEAD, on: channel)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
