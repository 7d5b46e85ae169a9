import Foundation
import LayoverTestSupport
import Testing

/// `Expect: 100-continue` (RFC 9110 §10.1.1): a client that waits before sending its body gets
/// `100 Continue` when the body will be read, or the final answer at once when it will not.
@Suite("Expect: 100-continue", .endToEnd)
struct ExpectContinueTests {
    @Test("a PATCH that expects 100 Continue gets it before sending its body, then its 202")
    func continueBeforeBody() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let location = try await OCIPusher(base: fixture.url("team/app")).startUpload()
        let path = String(location.dropFirst(fixture.layover.url.count))
        let body = String(repeating: "x", count: 4096)
        let socket = try BlockingSocket(port: fixture.port)
        defer { socket.close() }
        try socket.send("PATCH \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\n\r\n")
        let interim = socket.receive(until: "\r\n\r\n", timeout: .seconds(2))
        #expect(interim.hasPrefix("HTTP/1.1 100 Continue"), "got: \(interim)")
        try socket.send(body)
        let final = socket.receive(until: "\r\n\r\n", timeout: .seconds(5))
        #expect(final.contains("HTTP/1.1 202"), "got: \(final)")
        #expect(final.contains("0-4095"), "got: \(final)")
    }

    @Test("a request whose body will not be read gets its final answer at once")
    func finalAnswerWithoutBody() async throws {
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let socket = try BlockingSocket(port: fixture.port)
        defer { socket.close() }
        let digest = "sha256:" + String(repeating: "0", count: 64)
        try socket.send("PUT /v2/up/team/app/blobs/\(digest) HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
        let answer = socket.receive(until: "\r\n\r\n", timeout: .seconds(3))
        #expect(answer.hasPrefix("HTTP/1.1 405"), "got: \(answer)")
        #expect(!answer.contains("100 Continue"))
    }
}

/// A plain TCP socket to 127.0.0.1 with bounded waits: the test decides what to send when.
struct BlockingSocket {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw TestFailure("connect: \(errno)") }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Glibc.send(fd, bytes, bytes.count, 0) == bytes.count else { throw TestFailure("send: \(errno)") }
    }

    /// What arrives until `marker` has been seen, the peer closes, or `timeout` passes.
    func receive(until marker: String, timeout: Duration) -> String {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(left / .milliseconds(1))
            guard poll(&poller, 1, max(1, milliseconds)) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received += buffer[0..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() { Glibc.close(fd) }
}
