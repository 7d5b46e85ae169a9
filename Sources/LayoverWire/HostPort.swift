/// `host`, `host:port` or `[v6]:port`, as listen addresses, `CONNECT` targets and URL
/// authorities write them.
public enum HostPort {
    /// The host (lower-cased, brackets removed) and port of `text`; `defaultPort` when it names
    /// none (nil: a port is required). Nil for anything else, or a port outside 1–65535.
    public static func parse(_ text: String, defaultPort: Int? = nil) -> (host: String, port: Int)? {
        let host: Substring
        let portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { return nil }
            portText = rest.isEmpty ? nil : rest.dropFirst()
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty else { return nil }
        guard let portText else { return defaultPort.map { (host.lowercased(), $0) } }
        guard let port = Int(portText), (1...65535).contains(port) else { return nil }
        return (host.lowercased(), port)
    }
}
