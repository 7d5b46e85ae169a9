// Fuzz target: a front HTTP/1.1 connection (NIO's request decoder, then `HTTP1Connection`) fed
// arbitrary bytes, in pieces, with answers written at once or later (pipelined requests wait).
// modules: LayoverHTTP
//
// Input: byte 0 sets the piece size (0: all at once, else 1–255 bytes); byte 1 sets when
// answers are written (bit 0: later, on the event loop; bit 1: the event loop runs only after
// the last piece, so that pipelined requests pile up). The rest is what the client sends.
//
// Checked on what goes out: complete responses only, framed by their Content-Length (none for
// a HEAD), answered in order (each numbered, none skipped, none twice); after the answers at
// most one refusal (400 or 431 with an OCI error body), after which the connection is closed.
import Foundation
@testable import LayoverHTTP
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// Answers every request with `200` and its number, at once or on the event loop.
final class NumberedAnswers: HTTP1Requests {
    let later: Bool
    /// The methods of the requests answered, in order.
    private(set) var methods: [HTTPMethod] = []

    init(later: Bool) {
        self.later = later
    }

    func request(_ head: HTTPRequestHead, body: RequestBody, remoteAddress: SocketAddress?) -> Request {
        Request(head: head, body: body, remoteAddress: remoteAddress)
    }

    func answer(_ request: Request, on channel: any Channel, transport: ResponseWriter.Transport, loopExecutor: EventLoopTaskExecutor) {
        methods.append(request.method)
        let number = methods.count
        var response = Response.text("\(number)\n")
        response.headers.add(name: "X-Number", value: String(number))
        let write = {
            _ = ResponseWriter.writeReady(response, keepAlive: request.keepAlive, headOnly: request.method == .HEAD,
                                          transport: transport, on: ChannelTarget(channel: channel))
        }
        if later { channel.eventLoop.execute(write) } else { write() }
    }
}

/// One response read back from the connection's output.
struct SentResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// Splits `bytes` into responses; `bodiless(i)` says whether the i-th has no body (HEAD).
func readResponses(_ bytes: [UInt8], bodiless: (Int) -> Bool) -> [SentResponse] {
    var responses: [SentResponse] = []
    var rest = bytes[...]
    while !rest.isEmpty {
        let crlfcrlf: [UInt8] = [13, 10, 13, 10]
        guard let end = rest.indices.first(where: { rest[$0...].starts(with: crlfcrlf) }) else {
            require(false, "a response head without its end: \(String(decoding: rest.prefix(200), as: UTF8.self))")
            break
        }
        let lines = String(decoding: rest[rest.startIndex..<end], as: UTF8.self).components(separatedBy: "\r\n")
        rest = rest[(end + 4)...]
        let statusLine = lines[0].split(separator: " ", maxSplits: 2)
        require(statusLine.count >= 2 && statusLine[0].hasPrefix("HTTP/1."), "status line \(lines[0])")
        let status = Int(statusLine[1]) ?? -1
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else {
                require(false, "header line without a colon: \(line)")
                continue
            }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var response = SentResponse(status: status, headers: headers, body: [])
        require(response.header("Transfer-Encoding") == nil, "a small answer went out chunked")
        let length = Int(response.header("Content-Length") ?? "") ?? -1
        require(length >= 0, "no Content-Length: \(headers)")
        if !bodiless(responses.count) {
            require(rest.count >= length, "a body cut short: \(rest.count) of \(length) bytes")
            response.body = Array(rest.prefix(length))
            rest = rest.dropFirst(length)
        }
        responses.append(response)
    }
    return responses
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP1Connection(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = fuzzBytes(data, size)[...]
    let pieceSize = Int(takeInteger(&input, count: 1))
    let mode = takeInteger(&input, count: 1)
    let answers = NumberedAnswers(later: mode & 1 != 0)
    let maxHeaderBytes = 1024

    let channel = EmbeddedChannel()
    var limits = NIOHTTPDecoderLimitConfiguration()
    limits.maxHeaderFieldSize = maxHeaderBytes
    limits.maxHeaderListSize = maxHeaderBytes
    let deadline = ConnectionDeadline(channel: channel, headerTimeout: .seconds(10), idleTimeout: .seconds(120))
    do {
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder(
            leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop, limitConfiguration: limits)))
        try channel.pipeline.syncOperations.addHandler(HTTP1Connection(requests: answers, sendfile: false, deadline: deadline,
                                                                       maxHeaderBytes: maxHeaderBytes))
        channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 5000), promise: nil)
    } catch {
        require(false, "set-up failed: \(error)")
    }

    var output: [UInt8] = []
    func collect() {
        while let part = try? channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = part else {
                require(false, "a file region from an answer in memory")
                continue
            }
            output += buffer.readableBytesView
        }
    }
    let piece = pieceSize == 0 ? max(input.count, 1) : pieceSize
    while !input.isEmpty, channel.isActive {
        let bytes = input.prefix(piece)
        input = input.dropFirst(piece)
        _ = try? channel.writeInbound(ByteBuffer(bytes: bytes))
        if mode & 2 == 0 { channel.embeddedEventLoop.run() }
        collect()
    }
    channel.embeddedEventLoop.run()
    collect()

    let methods = answers.methods
    let responses = readResponses(output) { index in index < methods.count && methods[index] == .HEAD }
    let answered = responses.prefix(methods.count)
    for (index, response) in answered.enumerated() {
        require(response.status == 200, "answer \(index + 1): status \(response.status)")
        require(response.header("X-Number") == String(index + 1),
                "answer \(index + 1) carries number \(response.header("X-Number") ?? "none"): out of order")
        if methods[index] != .HEAD {
            require(response.body == Array("\(index + 1)\n".utf8), "answer \(index + 1): body \(response.body)")
        }
    }
    let extra = responses.dropFirst(methods.count)
    require(extra.count <= 1, "\(extra.count) responses beyond the \(methods.count) answers: \(String(decoding: output, as: UTF8.self))")
    if let refusal = extra.first {
        require(refusal.status == 400 || refusal.status == 431, "a refusal with status \(refusal.status)")
        require(refusal.header("Content-Type") == "application/json", "a refusal without a JSON body")
        let text = String(decoding: refusal.body, as: UTF8.self)
        require(text.hasPrefix("{\"errors\":[{") && text.contains("\"code\":"), "a refusal's body: \(text)")
        require(!channel.isActive, "the connection stayed open after a refusal")
    }
    _ = try? channel.finish()
    return 0
}
