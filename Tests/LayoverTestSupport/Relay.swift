import NIOCore
import NIOPosix
import Synchronization
import LayoverLocks

/// A TCP relay in front of the upstream that counts the bytes the upstream sends and can cut a
/// connection after a number of upstream bytes: the test's view of egress, and its fault injector.
/// With a `LinkShape` it also plays a slow link: added round-trip latency and a bandwidth cap
/// shared by every connection (this kernel has no `netem`).
public final class Relay: Sendable {
    public let port: Int
    private let channel: any Channel
    private let counters: Counters

    /// A slow link: `latency` added to each round trip, each direction capped at `bytesPerSecond`
    /// across all connections.
    public struct LinkShape: Sendable {
        public var latency: Duration
        public var bytesPerSecond: Int?

        public init(latency: Duration = .zero, bytesPerSecond: Int? = nil) {
            self.latency = latency
            self.bytesPerSecond = bytesPerSecond
        }

        /// A link of `megabits` Mbit/s.
        public static func megabits(_ megabits: Int, latency: Duration = .zero) -> LinkShape {
            LinkShape(latency: latency, bytesPerSecond: megabits * 1_000_000 / 8)
        }
    }

    final class Counters: Sendable {
        let shape: LinkShape
        /// When the shared link is next free in each direction (downstream, upstream), in uptime nanoseconds.
        let linkFreeAt = Locked<(down: Int64, up: Int64)>((0, 0))

        init(shape: LinkShape) {
            self.shape = shape
            bytesPerSecond = Atomic(shape.bytesPerSecond ?? 0)
        }

        /// The link's bandwidth in each direction (0: unlimited); `throttle` changes it.
        let bytesPerSecond: Atomic<Int>
        /// The fault armed with `inject`, if any.
        let fault = Locked<RelayFault?>(nil)
        /// How many times a fault was injected (a connection cut, reset, stalled, corrupted or answered).
        let injected = Atomic<Int>(0)
        /// The client side of every open connection, so that `dropConnections` can close them.
        let open = Locked<[ObjectIdentifier: any Channel]>([:])

        /// A connection-level fault for a new connection, counted as injected; nil to relay it.
        func takeConnectionFault() -> RelayFault? {
            fault.withLock { fault in
                switch fault {
                case .answer(let status, let headers, let connections) where connections > 0:
                    fault = connections > 1 ? .answer(status: status, headers: headers, connections: connections - 1) : nil
                    return .answer(status: status, headers: headers, connections: 1)
                case .refuse(let connections) where connections > 0:
                    fault = connections > 1 ? .refuse(connections: connections - 1) : nil
                    return .refuse(connections: 1)
                default:
                    return nil
                }
            }
        }

        /// When `bytes` may leave, one-way latency included; reserves the link until then.
        func departure(of bytes: Int, downstream: Bool) -> NIODeadline {
            let now = NIODeadline.now().uptimeNanoseconds
            let oneWay = shape.latency.components.attoseconds / 2_000_000_000 + shape.latency.components.seconds * 500_000_000
            let rate = bytesPerSecond.load(ordering: .relaxed)
            guard rate > 0 else { return .uptimeNanoseconds(now + UInt64(oneWay)) }
            let transmit = Int64(bytes) * 1_000_000_000 / Int64(rate)
            let done = linkFreeAt.withLock { freeAt in
                if downstream {
                    freeAt.down = max(freeAt.down, Int64(now)) + transmit
                    return freeAt.down
                }
                freeAt.up = max(freeAt.up, Int64(now)) + transmit
                return freeAt.up
            }
            return .uptimeNanoseconds(UInt64(done + oneWay))
        }

        var isShaped: Bool { shape.latency > .zero || bytesPerSecond.load(ordering: .relaxed) > 0 }
        let bytesFromUpstream = Atomic<Int>(0)
        let bytesToUpstream = Atomic<Int>(0)
        /// When at or above zero: every connection is closed once it has relayed this many upstream bytes.
        let cutAfter = Atomic<Int>(-1)
        /// While true, nothing is read from clients: their writes back up as toward a stalled upstream.
        let paused = Atomic<Bool>(false)
        /// When at or above zero: the relay pauses itself once clients have sent this many bytes.
        let pauseAt = Atomic<Int>(-1)
    }

    public var url: String { "http://127.0.0.1:\(port)" }
    /// Bytes the upstream has sent through the relay so far.
    public var bytesFromUpstream: Int { counters.bytesFromUpstream.load(ordering: .relaxed) }
    /// Bytes clients have sent to the upstream through the relay so far (pushes).
    public var bytesToUpstream: Int { counters.bytesToUpstream.load(ordering: .relaxed) }

    /// Stops reading what clients send (TCP backpressure reaches them, as from a stalled
    /// upstream) until `resume`.
    public func pause() { counters.paused.store(true, ordering: .relaxed) }

    public func resume() {
        counters.pauseAt.store(-1, ordering: .relaxed)
        counters.paused.store(false, ordering: .relaxed)
    }

    /// Pauses as `pause` does once clients have sent `bytes` bytes toward the upstream in all:
    /// a stall at a known point of an upload, however fast or loaded the machine is.
    public func pause(afterBytesToUpstream bytes: Int) { counters.pauseAt.store(bytes, ordering: .relaxed) }

    /// Cuts every connection after `bytes` upstream bytes (nil: never).
    public func cut(after bytes: Int?) { counters.cutAfter.store(bytes ?? -1, ordering: .relaxed) }

    /// Arms `fault` (nil: none). A fault on new connections (`answer`, `refuse`) first closes the
    /// open ones, so that the client's next request needs a new connection.
    public func inject(_ fault: RelayFault?) {
        counters.fault.withLock { $0 = fault }
        switch fault {
        case .answer, .refuse: dropConnections()
        default: break
        }
    }

    /// How many times the armed faults were injected so far.
    public var faultsInjected: Int { counters.injected.load(ordering: .relaxed) }

    /// Caps the link at `bytesPerSecond` in each direction (nil: unlimited), from now on.
    public func throttle(bytesPerSecond: Int?) { counters.bytesPerSecond.store(bytesPerSecond ?? 0, ordering: .relaxed) }

    /// Closes every open connection.
    public func dropConnections() {
        for channel in counters.open.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }

    public init(upstreamPort: Int, shape: LinkShape = LinkShape()) async throws {
        let counters = Counters(shape: shape)
        self.counters = counters
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                switch counters.takeConnectionFault() {
                case .refuse:
                    counters.injected.add(1, ordering: .relaxed)
                    return inbound.close()
                case .answer(let status, let headers, _):
                    counters.injected.add(1, ordering: .relaxed)
                    return inbound.pipeline.addHandler(CannedAnswer(status: status, headers: headers))
                default:
                    break
                }
                let key = ObjectIdentifier(inbound)
                counters.open.withLock { $0[key] = inbound }
                inbound.closeFuture.whenComplete { _ in counters.open.withLock { _ = $0.removeValue(forKey: key) } }
                return ClientBootstrap(group: inbound.eventLoop)
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
        /// Set once a `stall` fault hit this connection: nothing more is read from the upstream.
        var stalled = false

        init(partner: any Channel, counters: Counters, counts: Bool) {
            self.partner = partner
            self.counters = counters
            self.counts = counts
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            if !counts {
                let total = counters.bytesToUpstream.add(buffer.readableBytes, ordering: .relaxed).newValue
                let pauseAt = counters.pauseAt.load(ordering: .relaxed)
                if pauseAt >= 0, total >= pauseAt { counters.paused.store(true, ordering: .relaxed) }
            }
            if counts {
                let before = relayed
                relayed += buffer.readableBytes
                counters.bytesFromUpstream.add(buffer.readableBytes, ordering: .relaxed)
                let cut = counters.cutAfter.load(ordering: .relaxed)
                if cut >= 0, relayed >= cut {
                    partner.close(promise: nil)
                    context.close(promise: nil)
                    return
                }
                guard !stalled else { return }
                switch counters.fault.withLock({ $0 }) {
                case .truncate(let after) where relayed >= after:
                    counters.injected.add(1, ordering: .relaxed)
                    partner.close(promise: nil)
                    context.close(promise: nil)
                    return
                case .reset(let after) where relayed >= after:
                    counters.injected.add(1, ordering: .relaxed)
                    // SO_LINGER 0: the close sends a reset, not a FIN.
                    let partner = self.partner
                    let linger = (partner as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                    (linger ?? context.eventLoop.makeSucceededVoidFuture()).whenComplete { _ in partner.close(promise: nil) }
                    context.close(promise: nil)
                    return
                case .stall(let after) where relayed >= after:
                    // Nothing more reaches the client, and the connection stays open.
                    counters.injected.add(1, ordering: .relaxed)
                    stalled = true
                    context.channel.setOption(ChannelOptions.autoRead, value: false).whenSuccess {}
                    return
                case .flip(let at) where before <= at && at < relayed:
                    counters.injected.add(1, ordering: .relaxed)
                    let index = buffer.readerIndex + (at - before)
                    buffer.setInteger(buffer.getInteger(at: index, as: UInt8.self)! ^ 0xff, at: index)
                default:
                    break
                }
            }
            guard counters.isShaped || !pending.isEmpty || (!counts && counters.paused.load(ordering: .relaxed)) else {
                // Read no further ahead than the other side takes: what the relay read is what
                // crossed the link, and a cut or reset loses no more than a real one would.
                let written = partner.writeAndFlush(buffer)
                if !partner.isWritable {
                    let channel = context.channel
                    channel.setOption(ChannelOptions.autoRead, value: false).whenSuccess {}
                    written.whenComplete { [self] _ in
                        if !stalled { channel.setOption(ChannelOptions.autoRead, value: true).whenSuccess {} }
                    }
                }
                return
            }
            // Hold the bytes until the link would have delivered them (or the relay is resumed),
            // in order; stop reading meanwhile so that the sender feels the slow or stalled link.
            pending.append(buffer)
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenSuccess {}
            pump(channel: context.channel, eventLoop: context.eventLoop)
        }

        /// Bytes read and not yet passed on, oldest first.
        private var pending: [ByteBuffer] = []
        /// Whether a timer will call `pump` again.
        private var waiting = false

        /// Passes on what the link would have delivered by now; reads again once nothing is held.
        private func pump(channel: any Channel, eventLoop: any EventLoop) {
            guard !waiting else { return }
            if !counts, counters.paused.load(ordering: .relaxed) {
                wait(until: .now() + .milliseconds(50), channel: channel, eventLoop: eventLoop)
                return
            }
            guard !pending.isEmpty else {
                channel.setOption(ChannelOptions.autoRead, value: true).whenSuccess {}
                return
            }
            // Every held buffer goes on the link now; reading resumes when the first has arrived.
            var firstArrival: NIODeadline?
            for buffer in pending {
                let arrival = counters.departure(of: buffer.readableBytes, downstream: counts)
                firstArrival = firstArrival ?? arrival
                eventLoop.scheduleTask(deadline: arrival) { [partner] in
                    partner.writeAndFlush(buffer, promise: nil)
                }
            }
            pending.removeAll()
            wait(until: firstArrival!, channel: channel, eventLoop: eventLoop)
        }

        private func wait(until deadline: NIODeadline, channel: any Channel, eventLoop: any EventLoop) {
            waiting = true
            eventLoop.scheduleTask(deadline: deadline) { [self] in
                waiting = false
                pump(channel: channel, eventLoop: eventLoop)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            partner.close(promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

/// A fault the relay injects into the traffic it carries (see `Relay.inject`).
public enum RelayFault: Sendable {
    /// Each connection is closed (FIN) once it has carried `after` upstream bytes: a truncated body.
    case truncate(after: Int)
    /// Each connection is reset (RST) once it has carried `after` upstream bytes.
    case reset(after: Int)
    /// Each connection stops delivering upstream bytes after `after` of them, and stays open.
    case stall(after: Int)
    /// The byte at offset `at` of each connection's upstream bytes is inverted.
    case flip(at: Int)
    /// The next `connections` new connections are answered by the relay itself with `status` and
    /// `headers` (and closed), never reaching the upstream.
    case answer(status: Int, headers: [(String, String)], connections: Int)
    /// The next `connections` new connections are closed as soon as they are accepted.
    case refuse(connections: Int)
}

/// Answers a connection's first request with a fixed response and closes it.
private final class CannedAnswer: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let status: Int
    let headers: [(String, String)]

    init(status: Int, headers: [(String, String)]) {
        self.status = status
        self.headers = headers
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let body = "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"injected by the test relay\"}]}"
        var head = "HTTP/1.1 \(status) Injected\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let answer = context.channel.allocator.buffer(string: head + "\r\n" + body)
        context.writeAndFlush(NIOAny(answer)).whenComplete { _ in context.close(promise: nil) }
    }
}
