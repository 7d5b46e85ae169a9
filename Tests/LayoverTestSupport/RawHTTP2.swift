/// HTTP/2 frames written and read by hand over a `RawHTTP` connection (cleartext, prior
/// knowledge), for what no client library sends: a stream reset mid-body, frames that break the
/// protocol, a header block larger than any limit. Headers are HPACK literals without indexing.
public struct RawHTTP2 {
    public struct Frame: Sendable {
        public var type: UInt8
        public var flags: UInt8
        public var stream: UInt32
        public var payload: [UInt8]
    }

    public enum FrameType {
        public static let data: UInt8 = 0, headers: UInt8 = 1, rstStream: UInt8 = 3, settings: UInt8 = 4
        public static let goAway: UInt8 = 7, windowUpdate: UInt8 = 8, continuation: UInt8 = 9
    }

    public enum Flag {
        public static let endStream: UInt8 = 1, ack: UInt8 = 1, endHeaders: UInt8 = 4
    }

    public static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// A frame's bytes.
    public static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32, payload: [UInt8] = []) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags,
                UInt8(stream >> 24 & 0x7f), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }

    /// A header block of literal fields (no indexing, no Huffman).
    public static func headerBlock(_ fields: [(String, String)]) -> [UInt8] {
        var block: [UInt8] = []
        for (name, value) in fields {
            block.append(0)
            block += integer(name.utf8.count, prefixBits: 7) + Array(name.utf8)
            block += integer(value.utf8.count, prefixBits: 7) + Array(value.utf8)
        }
        return block
    }

    /// A `GET` request's header block.
    public static func get(_ path: String, authority: String = "127.0.0.1") -> [UInt8] {
        headerBlock([(":method", "GET"), (":scheme", "http"), (":authority", authority), (":path", path)])
    }

    /// HPACK's integer encoding with an `n`-bit prefix (RFC 7541 §5.1).
    static func integer(_ value: Int, prefixBits: Int) -> [UInt8] {
        let limit = (1 << prefixBits) - 1
        if value < limit { return [UInt8(value)] }
        var bytes = [UInt8(limit)]
        var rest = value - limit
        while rest >= 128 {
            bytes.append(UInt8(rest % 128 + 128))
            rest /= 128
        }
        bytes.append(UInt8(rest))
        return bytes
    }

    private let connection: RawHTTP
    private var received: [UInt8] = []

    /// Connects and sends the preface with empty settings, and opens the connection's receive
    /// window to 1 GiB (each stream keeps the default 64 KiB: a stream not read stops there, and
    /// the other streams still get their bytes).
    public init(port: Int) throws {
        connection = try RawHTTP(port: port)
        let increment = UInt32(1 << 30)
        let update = [UInt8(increment >> 24), UInt8(increment >> 16 & 0xff), UInt8(increment >> 8 & 0xff), UInt8(increment & 0xff)]
        connection.write(Self.preface + Self.frame(type: FrameType.settings, stream: 0)
            + Self.frame(type: FrameType.windowUpdate, stream: 0, payload: update))
    }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool { connection.write(bytes) }

    /// The next frame; nil once the peer closed (or the read timed out). Settings are acknowledged.
    public mutating func next() -> Frame? {
        while true {
            if received.count >= 9 {
                let length = Int(received[0]) << 16 | Int(received[1]) << 8 | Int(received[2])
                if received.count >= 9 + length {
                    let stream = UInt32(received[5] & 0x7f) << 24 | UInt32(received[6]) << 16 | UInt32(received[7]) << 8 | UInt32(received[8])
                    let frame = Frame(type: received[3], flags: received[4], stream: stream, payload: Array(received[9..<(9 + length)]))
                    received.removeFirst(9 + length)
                    if frame.type == FrameType.settings, frame.flags & Flag.ack == 0 {
                        send(Self.frame(type: FrameType.settings, flags: Flag.ack, stream: 0))
                    }
                    return frame
                }
            }
            guard let more = connection.readSome() else { return nil }
            received += more
        }
    }
}
