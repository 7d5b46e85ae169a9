import NIOCore
import NIOPosix
import Synchronization

/// A TCP relay in front of the upstream that counts the bytes the upstream sends and can cut a
/// connection after a number of upstream bytes: the test's view of egress, and its fault injector.
public final class Relay: Sendable {
    public let port: Int
    private let channel: any Channel
    private let counters: Counters

    final class Counters: Sendable {
        let bytesFromUpstream = Atomic<Int>(0)
        /// When at or above zero: every connection is closed once it has relayed this many upstream bytes.
        let cutAfter = Atomic<Int>(-1)
    }

    public var url: String { "http://127.0.0.1:\(port)" }
    /// Bytes the upstream has sent through the relay so far.
    public var bytesFromUpstream: Int { counters.bytesFromUpstream.load(ordering: .relaxed) }

    /// Cuts every connection after `bytes` upstream bytes (nil: never).
    public func cut(after bytes: Int?) { counters.cutAfter.store(bytes ?? -1, ordering: .relaxed) }

    public init(upstreamPort: Int) async throws {
        let counters = Counters()
        self.counters = counters
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .connect(host: "127.0.0.1", port: upstreamPort)
                    .flatMap { outbound in
                        let toClient = Forwarder(partner: inbound, counters: counters, counts: true)
                        let toUpstream = Forwarder(partner: outbound, counters: counters, counts: false)
                        return outbound.pipeline.addHandler(toClient).flatMap {
                            inbound.pipeline.addHandler(toUpstream)
                        }
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    public func close() { channel.close(promise: nil) }

    /// Forwards what one side reads to the other side; closes the other side when one closes.
    private final class Forwarder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let partner: any Channel
        let counters: Counters
        let counts: Bool
        var relayed = 0

        init(partner: any Channel, counters: Counters, counts: Bool) {
            self.partner = partner
            self.counters = counters
            self.counts = counts
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            if counts {
                relayed += buffer.readableBytes
                counters.bytesFromUpstream.add(buffer.readableBytes, ordering: .relaxed)
                let cut = counters.cutAfter.load(ordering: .relaxed)
                if cut >= 0, relayed >= cut {
                    partner.close(promise: nil)
                    context.close(promise: nil)
                    return
                }
            }
            partner.writeAndFlush(buffer, promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            partner.close(promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
