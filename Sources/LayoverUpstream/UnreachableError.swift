import AsyncHTTPClient
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Failures that retrying at once cannot fix: the name does not resolve, nothing listens, no
/// route, the connection or TLS handshake timed out or failed. They are not retried inline (the
/// circuit breaker and its probe take over), so a request fails in one connect timeout at most.
enum UnreachableError {
    static func matches(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError {
            return [.connectTimeout, .tlsHandshakeTimeout].contains(error) || "\(error)".contains("DNS")
        }
        if let error = error as? IOError {
            return [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ETIMEDOUT].contains(error.errnoCode)
        }
        if error is SocketAddressError { return true }
        let text = "\(error)"
        return text.contains("DNS error") || text.contains("UnknownHost") || text.contains("NIOConnectionError")
            || text.contains("NIOSSLError")
    }
}
