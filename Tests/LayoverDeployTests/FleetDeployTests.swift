import Foundation
import LayoverConfig
import LayoverTestSupport
import Testing

/// deploy/'s fleet files: HAProxy sends a repository to Layover's owner (its Lua script) and
/// otherwise, like Envoy, hashes the repository part of the path with consistent hashing; both
/// check /readyz; the Kubernetes fleet takes its members from a headless Service. (FleetPushTests
/// runs the HAProxy file in front of three real nodes.)
@Suite("deploy/ fleet")
struct FleetDeployTests {
    @Test("haproxy.cfg: HAProxy accepts it with its Lua script; a use-server rule per server for Layover's owner, the repository hashed consistently otherwise, /readyz checked")
    func haproxy() async throws {
        let text = try Deploy.text("haproxy/haproxy.cfg")
        #expect(text.contains("hash-type consistent"))
        #expect(text.contains("option httpchk GET /readyz"))
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let balance = try #require(lines.first { $0.hasPrefix("balance ") })
        #expect(balance.contains("balance hash path,regsub(/manifests/.*$,/),regsub(/blobs/.*$,/),regsub(/tags/.*$,/),regsub(/referrers/.*$,/)"))
        #expect(lines.contains("lua-load /etc/haproxy/layover-owner.lua"))
        #expect(lines.contains { $0.hasPrefix("http-request lua.layover_owner ") })
        let servers = lines.filter { $0.hasPrefix("server ") }.map { $0.split(separator: " ")[1] }
        #expect(servers.count == 3)
        for server in servers {
            #expect(lines.contains("use-server \(server) if { var(txn.layover_owner) -m str \(server) }"), "\(server)")
        }
        // As installed: the script where lua-load says.
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let script = Deploy.root.appendingPathComponent("haproxy/layover-owner.lua").path
        try text.replacingOccurrences(of: "lua-load /etc/haproxy/layover-owner.lua", with: "lua-load \(script)")
            .write(toFile: scratch.path + "/haproxy.cfg", atomically: true, encoding: .utf8)
        let check = try TestProcess(executable: "/usr/sbin/haproxy", arguments: ["-c", "-f", scratch.path + "/haproxy.cfg"])
        #expect(try await check.waitForExit() == 0, "\(check.output)")
    }

    @Test("envoy.yaml: a ring hash on the repository part of :path, health checks on /readyz")
    func envoy() throws {
        let document = try #require(try Deploy.yamlDocuments("envoy/envoy.yaml").first as? [String: Any])
        let resources = try #require(document["static_resources"] as? [String: Any])
        let cluster = try #require((resources["clusters"] as? [[String: Any]])?.first)
        #expect(cluster["lb_policy"] as? String == "RING_HASH")
        let checks = try #require(cluster["health_checks"] as? [[String: Any]])
        #expect((checks.first?["http_health_check"] as? [String: Any])?["path"] as? String == "/readyz")
        let text = try Deploy.text("envoy/envoy.yaml")
        #expect(text.contains("header_name: \":path\""))
        // The rewrite Envoy applies before hashing (RE2; this pattern means the same in ICU).
        let pattern = "^/v2/(.+)/(manifests|blobs|tags|referrers)/.*$"
        #expect(text.contains("regex: \"\(pattern)\""))
        let regex = try NSRegularExpression(pattern: pattern)
        for path in ["/v2/up/team/app/manifests/v1", "/v2/up/team/app/blobs/uploads/abc", "/v2/up/team/app/blobs/sha256:00",
                     "/v2/up/team/app/tags/list"] {
            let range = NSRange(path.startIndex..., in: path)
            #expect(regex.stringByReplacingMatches(in: path, range: range, withTemplate: "$1") == "up/team/app", "\(path)")
        }
    }

    @Test("kubernetes/fleet.yaml: three replicas, members from the headless Service, advertise and secret from the environment")
    func kubernetes() throws {
        var objects: [String: [String: Any]] = [:]
        for case let object as [String: Any] in try Deploy.yamlDocuments("kubernetes/fleet.yaml") {
            let name = (object["metadata"] as? [String: Any])?["name"] as? String ?? "?"
            objects["\(object["kind"] as? String ?? "?")/\(name)"] = object
        }
        #expect(Set(objects.keys) == ["ConfigMap/layover-fleet-config", "Service/layover-fleet", "Service/layover-fleet-peers",
                                      "StatefulSet/layover-fleet"])
        let headless = try #require(objects["Service/layover-fleet-peers"]?["spec"] as? [String: Any])
        #expect(headless["clusterIP"] as? String == "None")
        let spec = try #require(objects["StatefulSet/layover-fleet"]?["spec"] as? [String: Any])
        #expect(spec["replicas"] as? Int == 3)
        #expect(spec["serviceName"] as? String == "layover-fleet-peers")
        let template = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((template["containers"] as? [[String: Any]])?.first)
        let environment = try #require(container["env"] as? [[String: Any]])
        #expect(environment.contains { $0["name"] as? String == "LAYOVER_FLEET_ADVERTISE" && $0["value"] as? String == "http://$(POD_IP):5000" })
        #expect(environment.contains { $0["name"] as? String == "LAYOVER_FLEET_SECRET" && $0["valueFrom"] != nil })

        let data = try #require(objects["ConfigMap/layover-fleet-config"]?["data"] as? [String: String])
        var configuration = LayoverConfiguration.embeddedDefault
        try configuration.apply(yaml: try #require(data["layover.yaml"]))
        try configuration.apply(environment: ["LAYOVER_FLEET_ADVERTISE": "http://10.1.2.3:5000",
                                              "LAYOVER_FLEET_SECRET": "a-secret-from-the-kubernetes-secret"])
        let validated = try configuration.validated()
        #expect(validated.fleet.peersFromDNS == "layover-fleet-peers:5000")
        #expect(validated.auth != nil, "pushes on a non-loopback listener need client authentication")
    }
}
