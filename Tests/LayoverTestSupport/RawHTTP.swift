import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A bare TCP connection for requests no HTTP library sends: a body that stops half way, a
/// request written in pieces while the test does something else, headers libraries refuse.
/// Blocking: call it from a detached task or between awaits.
public final class RawHTTP: @unchecked Sendable {
    private let fd: Int32

    public init(port: Int) throws {
        fd = try Self.connect(port: port)
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes `bytes`; false when the peer has closed.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0, errno == EINTR { continue }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    @discardableResult
    public func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    /// Reads until the peer closes, the read times out, or `limit` bytes arrived; the bytes as text.
    public func readAll(limit: Int = 1 << 20) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while received.count < limit {
            let got = recv(fd, &buffer, buffer.count, 0)
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { break }
            received += buffer[0..<got]
            // One answer is enough once its head and announced body are in.
            if let text = String(bytes: received, encoding: .utf8), let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound].lowercased()
                if let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
                   let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)),
                   text.utf8.count - text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound) >= length {
                    break
                }
            }
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// The bytes one read returns; nil once the peer closed or the read timed out.
    public func readSome() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let got = recv(fd, &buffer, buffer.count, 0)
            if got < 0, errno == EINTR { continue }
            return got > 0 ? Array(buffer[0..<got]) : nil
        }
    }

    /// Sets how long a read waits before it gives up.
    public func setReadTimeout(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The status code of an answer read with `readAll`, 0 when there is none.
    public static func status(of answer: String) -> Int {
        guard answer.hasPrefix("HTTP/1.1 "), answer.count >= 12 else { return 0 }
        return Int(answer.dropFirst(9).prefix(3)) ?? 0
    }

    /// A TCP socket connected to `127.0.0.1:port`, set up by `configure` before it connects.
    public static func connect(port: Int, configure: (Int32) -> Void = { _ in }) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        configure(fd)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestFailure("connect: \(errno)")
        }
        return fd
    }

    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    deinit { close(fd) }
}
