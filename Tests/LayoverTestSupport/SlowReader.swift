import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A client that reads an HTTP/1.1 answer slowly through a small receive buffer, so the server's
/// write really lasts (an HTTP client library would buffer the body as fast as it arrives).
public enum SlowReader {
    /// GETs `path` from `127.0.0.1:port`, reading `chunk` bytes then pausing `pause`; returns the
    /// status, the body length and its digest. `started` is called once the answer's head has
    /// arrived. Blocking: call it on a thread of its own (`onThread`).
    public static func get(port: Int, path: String, chunk: Int = 32 << 10, pause: Duration = .milliseconds(2),
                           started: @Sendable () -> Void = {}) throws -> (status: Int, count: Int, digest: String) {
        let fd = try RawHTTP.connect(port: port) { fd in
            var small: Int32 = 128 << 10
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        }
        defer { close(fd) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { throw TestFailure("send: \(errno)") }

        var buffer = [UInt8](repeating: 0, count: chunk)
        var head: [UInt8] = []
        var hasher = SHA256()
        var count = 0
        var status = 0
        while true {
            let got = recv(fd, &buffer, buffer.count, 0)
            if got < 0, errno == EINTR { continue }
            guard got > 0 else { break }
            var body = buffer[0..<got]
            if status == 0 {
                head.append(contentsOf: body)
                guard let end = head.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                status = Int(String(decoding: head[9..<12], as: UTF8.self)) ?? -1
                body = ArraySlice(head[end.upperBound...])
                started()
            }
            body.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            count += body.count
            Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds))
        }
        return (status, count, TestHTTP.digest(hasher))
    }
}
