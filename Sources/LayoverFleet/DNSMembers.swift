#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Members from DNS: every A and AAAA record of a name (a Kubernetes headless Service lists one
/// per ready pod) is a member at `http://ADDRESS:PORT`.
public struct DNSMembers: Sendable {
    public let name: String
    public let port: Int

    /// Parses `NAME:PORT` (checked by the configuration already).
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else { return nil }
        name = String(text[..<colon])
        self.port = port
    }

    /// The members the name resolves to now; empty when it does not resolve (the caller keeps the
    /// list it had: a DNS hiccup must not shrink the fleet to one). Blocks while resolving.
    public func resolve() -> [Member] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var members: Set<Member> = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = Self.text(entry.pointee) {
                let host = address.contains(":") ? "[\(address)]" : address
                members.insert(Member(url: "http://\(host):\(port)"))
            }
            cursor = entry.pointee.ai_next
        }
        return members.sorted()
    }

    private static func text(_ info: addrinfo) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard getnameinfo(info.ai_addr, info.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 else { return nil }
        return String(cString: buffer).lowercased()
    }
}
