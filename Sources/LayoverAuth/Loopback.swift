/// Whether an address is this machine's loopback: `127.0.0.0/8`, `::1`, an IPv4-mapped
/// `::ffff:127.x.y.z`, or `localhost`. Anything else, host names included, is not.
public enum Loopback {
    public static func contains(_ address: String) -> Bool {
        var host = Substring(address)
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        // An IPv6 zone (`fe80::1%eth0`) never makes an address loopback.
        if host.contains("%") { return false }
        let lowered = host.lowercased()
        if lowered == "localhost" { return true }
        if lowered == "::1" || lowered == "0:0:0:0:0:0:0:1" { return true }
        for mapped in ["::ffff:", "0:0:0:0:0:ffff:"] where lowered.hasPrefix(mapped) {
            return isLoopbackIPv4(lowered.dropFirst(mapped.count))
        }
        return isLoopbackIPv4(Substring(lowered))
    }

    private static func isLoopbackIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber) && Int(part)! <= 255
        }) else { return false }
        return parts[0] == "127"
    }
}
