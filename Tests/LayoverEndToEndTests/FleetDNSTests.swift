import Foundation
import LayoverTestSupport
import Testing

/// `fleet.peersFromDNS` (issue 12): the members are every address a name resolves to, as a
/// Kubernetes headless Service answers, re-resolved while the nodes run. Each node runs in a mount
/// namespace of its own whose /etc/hosts is the test's file (the machine's is never touched), so
/// the name resolves, through the real resolver, to 127.0.0.2, .3 and .4: three nodes on one port.
@Suite("Fleet members from DNS", .endToEnd, .enabled(if: getuid() == 0, "a private /etc/hosts needs a mount namespace"))
struct FleetDNSTests {
    static let name = "layover-fleet.test"

    @Test("peersFromDNS: every address of the name is a member; the nodes fill each other's misses; an address that leaves the records leaves the fleet")
    func membersFromDNS() async throws {
        let registry = try await UpstreamRegistry()
        defer { registry.stop() }
        let relay = try await Relay(upstreamPort: registry.port)
        defer { relay.close() }
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let addresses = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        let hosts = scratch.path + "/hosts"
        try Self.write(hosts, addresses)
        // The wrapper runs layover with the test's hosts file bound over /etc/hosts, in a mount
        // namespace of its own; the file is rewritten in place, so every namespace sees changes.
        let wrapper = scratch.path + "/layover-in-namespace"
        try """
            #!/bin/sh
            exec unshare -m sh -c 'mount --bind "\(hosts)" /etc/hosts && exec "$0" "$@"' "\(try LayoverProcess.binary())" "$@"
            """.write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        let port = try freePort()
        var nodes: [LayoverProcess] = []
        defer { for node in nodes { node.stop(signal: SIGKILL) } }
        for (index, address) in addresses.enumerated() {
            let config = "\(scratch.path)/node\(index).yaml"
            try "fleet:\n  advertise: http://\(address):\(port)\n  peersFromDNS: \(Self.name):\(port)\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            nodes.append(try await LayoverProcess(upstreamURL: relay.url, storage: "\(scratch.path)/node\(index)",
                                                  extraArguments: ["--listen", "\(address):\(port)", "--config", config],
                                                  environment: ["LAYOVER_FLEET_SECRET": FleetRig.secret], binary: wrapper))
        }
        let urls = addresses.map { "http://\($0):\(port)" }
        for url in urls { #expect(try await Self.members(url) == urls, "\(url)") }

        // The fleet works as one: a blob pulled through every node crosses the upstream link once.
        let image = try await Seeder(registry: registry.url).pushImage("team/dns", tag: "v1", layerSizes: [2 << 20])
        let layer = image.layers[0]
        let before = relay.bytesFromUpstream
        for url in urls {
            let (status, count, digest) = try await TestHTTP.shared.streamedDigest("\(url)/v2/up/team/dns/blobs/\(layer.digest)")
            #expect(status == 200 && count == layer.bytes.count && digest == layer.digest, "\(url)")
        }
        let fetched = relay.bytesFromUpstream - before
        #expect(fetched < layer.bytes.count + layer.bytes.count / 10, "\(fetched) bytes from the upstream for \(layer.bytes.count)")

        // 127.0.0.4 leaves the records (its pod went away): the others drop it at the next resolve.
        try Self.write(hosts, Array(addresses.prefix(2)))
        try await eventually(timeout: .seconds(20)) {
            let first = try await Self.members(urls[0]), second = try await Self.members(urls[1])
            return first == Array(urls.prefix(2)) && second == Array(urls.prefix(2))
        }
    }

    /// Rewrites `path` in place (same inode: the bind mounts see it) with `addresses` for the name.
    static func write(_ path: String, _ addresses: [String]) throws {
        let text = (["127.0.0.1 localhost"] + addresses.map { "\($0) \(name)" }).joined(separator: "\n") + "\n"
        let handle = FileManager.default.fileExists(atPath: path) ? FileHandle(forWritingAtPath: path) : nil
        if let handle {
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
        } else {
            try text.write(toFile: path, atomically: false, encoding: .utf8)
        }
    }

    /// The members node `url` lists in its status.
    static func members(_ url: String) async throws -> [String] {
        let json = try await TestHTTP.shared.get("\(url)/_layover/status").body
        let object = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any]
        return ((object?["fleet"] as? [String: Any])?["members"] as? [String] ?? []).sorted()
    }
}
