import Foundation
import LayoverConfig
import Testing
import Yams

/// Every file under `deploy/` parses and says what it must, and the configuration files in it are
/// ones Layover accepts: a typo in an example cannot ship.
@Suite("deploy/")
struct DeployFilesTests {
    @Test("every YAML file parses, every document of it")
    func everyYAMLFileParses() throws {
        let files = Deploy.files(withExtensions: ["yaml", "yml"])
        #expect(Set(files).isSuperset(of: ["kubernetes/layover.yaml", "kubernetes/networkpolicy.yaml", "kubernetes/nodeport.yaml",
                                           "kubernetes/certificate.yaml", "systemd/layover.yaml", "clients/github-actions.yml",
                                           "clients/gitlab-ci.yml"]), "\(files)")
        for file in files {
            let documents = try Deploy.yamlDocuments(file)
            #expect(!documents.isEmpty, "\(file) holds no document")
        }
    }

    @Test("Kubernetes: a StatefulSet with a volume claim and probes, a Service on port 5000")
    func kubernetesObjects() throws {
        let objects = try Deploy.kubernetesObjects()
        #expect(Set(objects.keys) == ["ConfigMap/layover-config", "Service/layover", "Service/layover-headless", "StatefulSet/layover"])

        let statefulSet = try #require(objects["StatefulSet/layover"])
        let spec = try #require(statefulSet["spec"] as? [String: Any])
        #expect(spec["replicas"] as? Int == 1)
        let template = try #require(spec["template"] as? [String: Any])
        let podLabels = try #require((template["metadata"] as? [String: Any])?["labels"] as? [String: String])
        #expect((spec["selector"] as? [String: Any])?["matchLabels"] as? [String: String] == podLabels)
        let annotations = try #require((template["metadata"] as? [String: Any])?["annotations"] as? [String: String])
        #expect(annotations["prometheus.io/scrape"] == "true")
        #expect(annotations["prometheus.io/port"] == "5000")
        #expect(annotations["prometheus.io/path"] == "/metrics")

        let pod = try #require(template["spec"] as? [String: Any])
        let podSecurity = try #require(pod["securityContext"] as? [String: Any])
        #expect(podSecurity["runAsNonRoot"] as? Bool == true)
        #expect(podSecurity["runAsUser"] as? Int == 10001)
        #expect(podSecurity["fsGroup"] as? Int == 10001)

        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        #expect(container["name"] as? String == "layover")
        #expect(container["args"] as? [String] == ["serve", "--config", "/etc/layover/layover.yaml"])
        #expect((container["securityContext"] as? [String: Any])?["readOnlyRootFilesystem"] as? Bool == true)
        let ports = try #require(container["ports"] as? [[String: Any]])
        #expect(ports.contains { $0["name"] as? String == "https" && $0["containerPort"] as? Int == 5000 })
        #expect(Deploy.probePath(container["livenessProbe"]) == "/healthz")
        #expect(Deploy.probePath(container["readinessProbe"]) == "/readyz")
        let resources = try #require(container["resources"] as? [String: [String: Any]])
        #expect(resources["requests"]?["cpu"] as? String == "500m")
        #expect(resources["requests"]?["memory"] as? String == "256Mi")
        #expect(resources["limits"]?["memory"] as? String == "1Gi")

        // Credentials come from an optional Secret, never from the ConfigMap.
        let env = try #require(container["env"] as? [[String: Any]])
        let names = env.compactMap { $0["name"] as? String }
        #expect(names.contains("LAYOVER_UPSTREAM_DOCKER_IO_USERNAME") && names.contains("LAYOVER_UPSTREAM_DOCKER_IO_PASSWORD"))
        for variable in env {
            let secret = (variable["valueFrom"] as? [String: Any])?["secretKeyRef"] as? [String: Any]
            #expect(secret?["optional"] as? Bool == true, "\(variable["name"] ?? "?") is an optional secret reference")
        }

        // The store is on the claim template's volume, the config file on the ConfigMap's.
        let claims = try #require(spec["volumeClaimTemplates"] as? [[String: Any]])
        let claim = try #require(claims.first)
        let claimName = try #require((claim["metadata"] as? [String: Any])?["name"] as? String)
        let requests = ((claim["spec"] as? [String: Any])?["resources"] as? [String: Any])?["requests"] as? [String: Any]
        #expect(requests?["storage"] as? String == "200Gi")
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
        #expect(mounts.contains { $0["name"] as? String == claimName && $0["mountPath"] as? String == "/var/lib/layover" })
        #expect(mounts.contains { $0["mountPath"] as? String == "/etc/layover" })
        let volumes = try #require(pod["volumes"] as? [[String: Any]])
        #expect(volumes.contains { ($0["configMap"] as? [String: Any])?["name"] as? String == "layover-config" })

        let service = try #require(objects["Service/layover"])
        let serviceSpec = try #require(service["spec"] as? [String: Any])
        #expect(serviceSpec["type"] as? String == "ClusterIP")
        #expect(serviceSpec["selector"] as? [String: String] == podLabels)
        let servicePort = try #require((serviceSpec["ports"] as? [[String: Any]])?.first)
        #expect(servicePort["port"] as? Int == 5000)
        // Named for what it carries: meshes take an `http` port for cleartext HTTP.
        #expect(servicePort["name"] as? String == "https")
        #expect(servicePort["targetPort"] as? String == "https")
    }

    @Test("Kubernetes: the ConfigMap's file is one Layover accepts, and drains within the grace period")
    func kubernetesConfiguration() throws {
        let objects = try Deploy.kubernetesObjects()
        let data = try #require(objects["ConfigMap/layover-config"]?["data"] as? [String: String])
        let configuration = try Deploy.configuration(try #require(data["layover.yaml"]))
        // [::]: every IPv6 and IPv4 address (dual-stack), as the image's LAYOVER_LISTEN says.
        #expect(configuration.listenHost == "::" && configuration.listenPort == 5000)
        #expect(configuration.storage == "/var/lib/layover")
        // The budget must leave room on the 200Gi volume for the index and ingest files.
        #expect(configuration.maxBytes > 0 && configuration.maxBytes < 200 * 1024 * 1024 * 1024)
        #expect(Set(configuration.upstreams.keys).isSuperset(of: ["docker.io", "ghcr.io", "quay.io", "registry.k8s.io"]))
        #expect(configuration.upstreams.values.allSatisfy { $0.credentials == nil }, "credentials belong in the Secret")

        let pod = try #require(Deploy.podSpec(objects["StatefulSet/layover"]))
        let grace = try #require(pod["terminationGracePeriodSeconds"] as? Int)
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let pause = try #require(Deploy.preStopPauseSeconds(container), "a preStop pause before SIGTERM")
        #expect(pause >= 3, "endpoints need a few seconds to drop the pod")
        // The grace period counts from the start of preStop: the pause and the drain must both fit.
        #expect(Double(grace) > Double(pause) + configuration.shutdownGraceSeconds, "Kubernetes must not kill Layover mid-drain")
    }

    @Test("Kubernetes: the StatefulSet's serviceName is a headless Service listing replicas, ready or not")
    func kubernetesHeadlessService() throws {
        let objects = try Deploy.kubernetesObjects()
        let spec = try #require(objects["StatefulSet/layover"]?["spec"] as? [String: Any])
        let serviceName = try #require(spec["serviceName"] as? String)
        let headless = try #require(objects["Service/\(serviceName)"], "serviceName \(serviceName) names a Service in the file")
        let headlessSpec = try #require(headless["spec"] as? [String: Any])
        #expect(headlessSpec["clusterIP"] as? String == "None", "a headless Service has no cluster IP")
        #expect(headlessSpec["publishNotReadyAddresses"] as? Bool == true)
        let podLabels = (spec["template"] as? [String: Any]).flatMap { ($0["metadata"] as? [String: Any])?["labels"] as? [String: String] }
        #expect(headlessSpec["selector"] as? [String: String] == podLabels)
        let port = try #require((headlessSpec["ports"] as? [[String: Any]])?.first)
        #expect(port["port"] as? Int == 5000)
        // The ClusterIP Service in front is another one.
        #expect(serviceName != "layover")
        #expect((objects["Service/layover"]?["spec"] as? [String: Any])?["clusterIP"] == nil)
    }

    @Test("Kubernetes: no service account token in the pod, a preStop pause before SIGTERM")
    func kubernetesPodHardening() throws {
        let pod = try #require(Deploy.podSpec(try Deploy.kubernetesObjects()["StatefulSet/layover"]))
        #expect(pod["automountServiceAccountToken"] as? Bool == false)
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let preStop = try #require((container["lifecycle"] as? [String: Any])?["preStop"] as? [String: Any])
        // exec sleep: the image is Debian's, /bin/sleep is there.
        #expect((preStop["exec"] as? [String: Any])?["command"] as? [String] == ["sleep", "5"])
    }

    @Test("Kubernetes: the NetworkPolicy admits only chosen clients to port 5000 of Layover's pods")
    func kubernetesNetworkPolicy() throws {
        let documents = try Deploy.yamlDocuments("kubernetes/networkpolicy.yaml").compactMap { $0 as? [String: Any] }
        #expect(documents.count == 1)
        let policy = try #require(documents.first)
        #expect(policy["apiVersion"] as? String == "networking.k8s.io/v1" && policy["kind"] as? String == "NetworkPolicy")
        let spec = try #require(policy["spec"] as? [String: Any])
        #expect((spec["podSelector"] as? [String: Any])?["matchLabels"] as? [String: String] == Deploy.podLabels)
        #expect(spec["policyTypes"] as? [String] == ["Ingress"])
        let rules = try #require(spec["ingress"] as? [[String: Any]])
        #expect(!rules.isEmpty)
        for rule in rules {
            // Every rule names its sources (no `from` would admit everyone) and only port 5000.
            let sources = try #require(rule["from"] as? [[String: Any]])
            #expect(!sources.isEmpty)
            #expect(rule["ports"] as? [[String: AnyHashable]] == [["protocol": "TCP", "port": 5000]])
        }
        let sources = rules.flatMap { $0["from"] as? [[String: Any]] ?? [] }
        #expect(sources.contains { (($0["podSelector"] as? [String: Any])?["matchLabels"] as? [String: String])?["layover-client"] == "true" })
        #expect(sources.contains { $0["ipBlock"] != nil }, "the nodes, for containerd mirrors through the NodePort")
    }

    @Test("Kubernetes: a NodePort Service gives the nodes' containerd a fixed address for Layover")
    func kubernetesNodePort() throws {
        let text = try Deploy.text("kubernetes/nodeport.yaml")
        let documents = try Deploy.yamlDocuments("kubernetes/nodeport.yaml").compactMap { $0 as? [String: Any] }
        #expect(documents.count == 1)
        let service = try #require(documents.first)
        #expect(service["kind"] as? String == "Service")
        let spec = try #require(service["spec"] as? [String: Any])
        #expect(spec["type"] as? String == "NodePort")
        // Cluster: every node forwards to the one replica, wherever it runs.
        #expect(spec["externalTrafficPolicy"] as? String == "Cluster")
        #expect(spec["selector"] as? [String: String] == Deploy.podLabels)
        let port = try #require((spec["ports"] as? [[String: Any]])?.first)
        let nodePort = try #require(port["nodePort"] as? Int)
        #expect((30000...32767).contains(nodePort), "inside the default NodePort range")
        #expect(port["targetPort"] as? String == "https")
        // The comment says why, and how a node's hosts.toml names it, with the CA.
        #expect(text.contains("resolves names with the node's resolver"))
        #expect(text.contains("[host.\"https://NODE_ADDRESS:\(nodePort)\"]"))
        #expect(text.contains("ca = \"/etc/containerd/layover-ca.crt\""))
    }

    @Test("systemd: the example config file is one Layover accepts")
    func systemdConfiguration() throws {
        let configuration = try Deploy.configuration(try Deploy.text("systemd/layover.yaml"))
        #expect(configuration.listenHost == "0.0.0.0" && configuration.listenPort == 5000)
        #expect(configuration.storage == "/var/lib/layover")
        #expect(configuration.upstreams["registry.internal"]?.url == "http://registry.internal:5000")
        #expect(configuration.upstreams.values.allSatisfy { $0.credentials == nil }, "credentials belong in credentials.env")

        let unit = try Deploy.serviceSection(try Deploy.text("systemd/layover.service"))
        let stopTimeout = try #require(unit["TimeoutStopSec"].flatMap(Double.init))
        #expect(stopTimeout > configuration.shutdownGraceSeconds, "systemd must not kill Layover mid-drain")
    }

    @Test("systemd: the unit runs layover as its own user, hardened")
    func systemdUnitKeys() throws {
        let unit = try Deploy.serviceSection(try Deploy.text("systemd/layover.service"))
        #expect(unit["ExecStart"] == "/usr/local/bin/layover serve --config /etc/layover/layover.yaml")
        // `systemctl reload layover`: the certificate, key and htpasswd file re-read, nothing restarted.
        #expect(unit["ExecReload"] == "/bin/kill -HUP $MAINPID")
        #expect(unit["User"] == "layover")
        #expect(unit["StateDirectory"] == "layover")
        #expect(unit["Environment"] == "LAYOVER_STORAGE=/var/lib/layover")
        #expect(unit["EnvironmentFile"] == "-/etc/layover/credentials.env")
        #expect(unit["KillSignal"] == "SIGTERM")
        #expect(unit["Restart"] == "on-failure")
        #expect(unit["LimitNOFILE"] == "65536")
        for key in ["NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
                    "ProtectKernelModules", "ProtectControlGroups", "RestrictNamespaces", "LockPersonality",
                    "MemoryDenyWriteExecute"] {
            #expect(unit[key] == "yes", "\(key)=yes")
        }
        #expect(unit["ProtectSystem"] == "strict")
        #expect(unit["RestrictAddressFamilies"] == "AF_INET AF_INET6 AF_UNIX")
        #expect(unit["SystemCallArchitectures"] == "native")
        #expect(unit["CapabilityBoundingSet"] == "", "an empty bounding set: no capabilities")
        #expect(unit["ReadWritePaths"] == "/var/lib/layover")
    }

    @Test("systemd: systemd-analyze verify finds nothing to say about the unit",
          .enabled(if: FileManager.default.isExecutableFile(atPath: Deploy.systemdAnalyze),
                   "systemd-analyze is not installed here; the unit's keys are still checked by systemdUnitKeys"))
    func systemdAnalyzeVerify() throws {
        // verify insists that ExecStart's binary exists: point the copy at one every machine has.
        let unit = try Deploy.text("systemd/layover.service")
        let copied = unit.replacingOccurrences(of: "ExecStart=/usr/local/bin/layover ", with: "ExecStart=/bin/true ")
        #expect(copied != unit)
        let name = "layover-\(UUID().uuidString).service"
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
        try copied.write(toFile: copy, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        let result = try Deploy.run(Deploy.systemdAnalyze, ["verify", copy])
        #expect(result.status == 0, "\(result.output)")
        // Unknown or misspelt keys are only warned about (exit 0), on lines naming the file.
        let complaints = result.output.split(separator: "\n").filter { $0.contains(name) }
        #expect(complaints.isEmpty, "\(complaints)")
    }

    @Test("containerd: Layover is a pull-and-resolve mirror of Docker Hub over TLS, its CA named, verification kept")
    func containerdHosts() throws {
        let hosts = try Deploy.toml(try Deploy.text("clients/containerd-hosts.toml"))
        #expect(hosts["server"] as? String == "https://registry-1.docker.io")
        let mirrors = try #require(hosts["host"] as? [String: Any])
        #expect(Array(mirrors.keys) == ["https://layover.internal:5000"])
        let mirror = try #require(mirrors["https://layover.internal:5000"] as? [String: Any])
        #expect(mirror["capabilities"] as? [String] == ["pull", "resolve"])
        #expect(mirror["ca"] as? String == "/etc/containerd/layover-ca.crt")
        #expect(mirror["skip_verify"] == nil, "skip_verify accepts any certificate")
        // The header that would carry a credential is shown, commented out, with the right table name.
        #expect(try Deploy.text("clients/containerd-hosts.toml").contains("# [host.\"https://layover.internal:5000\".header]"))
    }

    @Test("BuildKit: docker.io and ghcr.io mirrored through Layover over TLS with its CA, in every recipe")
    func buildkitConfigurations() throws {
        let workflow = try #require(try Deploy.yamlDocuments("clients/github-actions.yml").first as? [String: Any])
        let steps = ((workflow["jobs"] as? [String: Any])?["image"] as? [String: Any])?["steps"] as? [[String: Any]] ?? []
        let inlines = steps.compactMap { ($0["with"] as? [String: Any])?["buildkitd-config-inline"] as? String }
        let inline = try #require(inlines.first, "the workflow gives buildx a buildkitd configuration")
        let configurations = [
            ("clients/buildkitd.toml", try Deploy.text("clients/buildkitd.toml")),
            ("clients/github-actions.yml", inline),
            ("clients/gitlab-ci.yml", try Deploy.heredoc("TOML", in: try Deploy.text("clients/gitlab-ci.yml"))),
        ]
        for (file, text) in configurations {
            let registries = try #require(try Deploy.toml(text)["registry"] as? [String: [String: Any]], "\(file): no [registry] tables")
            for upstream in ["docker.io", "ghcr.io"] {
                #expect(registries[upstream]?["mirrors"] as? [String] == ["layover.internal:5000"], "\(file): \(upstream)")
            }
            let layover = try #require(registries["layover.internal:5000"], "\(file): no settings for Layover's host")
            // TLS with the CA: neither cleartext nor any certificate accepted.
            let authorities = try #require(layover["ca"] as? [String], "\(file): no ca for Layover's host")
            #expect(authorities.count == 1 && authorities.allSatisfy { $0.hasPrefix("/") && $0.hasSuffix(".crt") }, "\(file): \(authorities)")
            #expect(layover["http"] == nil, "\(file)")
            #expect(layover["insecure"] == nil, "\(file)")
        }
    }

    @Test("CI recipes keep their BuildKit cache in Layover, upstream named by path prefix")
    func ciCacheReferences() throws {
        let reference = "type=registry,ref=layover.internal:5000/ghcr.io/org/app:buildcache"
        // A bare `on` key would be the boolean true here (YAML 1.1), and the mapping no [String: Any].
        let workflow = try #require(try Deploy.yamlDocuments("clients/github-actions.yml").first as? [String: Any])
        #expect(workflow["on"] != nil)
        let steps = ((workflow["jobs"] as? [String: Any])?["image"] as? [String: Any])?["steps"] as? [[String: Any]] ?? []
        #expect(steps.contains { ($0["uses"] as? String)?.hasPrefix("docker/setup-buildx-action@") == true })
        let build = try #require(steps.first { ($0["uses"] as? String)?.hasPrefix("docker/build-push-action@") == true })
        let with = try #require(build["with"] as? [String: Any])
        #expect(with["cache-from"] as? String == reference)
        // ignore-error=true: a cache outage (Layover down, a refused push) never fails the build.
        #expect(with["cache-to"] as? String == reference + ",mode=max,ignore-error=true")

        let gitlab = try #require(try Deploy.yamlDocuments("clients/gitlab-ci.yml").first as? [String: Any])
        let script = try #require((gitlab["build"] as? [String: Any])?["script"] as? [String]).joined(separator: " ")
        #expect(script.contains("--import-cache \(reference) "))
        #expect(script.contains("--export-cache \(reference),mode=max,ignore-error=true"))
    }

    @Test("GitLab: the recipe says what the runner needs for rootless BuildKit, the README gives the config.toml lines")
    func gitlabRunnerRequirements() throws {
        let recipe = try Deploy.text("clients/gitlab-ci.yml")
        let securityOptions = #"security_opt = ["seccomp=unconfined", "apparmor=unconfined"]"#
        #expect(recipe.contains(securityOptions))
        #expect(recipe.contains("[runners.docker]"))
        #expect(recipe.contains("privileged = true"))
        #expect(recipe.contains("failed to share mount point"), "the error a default runner shows")
        #expect(!recipe.contains("no privileged"), "rootless BuildKit does need a runner set up for it")

        let readme = try Deploy.text("README.md")
        let runner = try Deploy.markdownBlocks("toml", in: readme).map(Deploy.toml).first { $0["runners"] != nil }
        let docker = try #require((runner?["runners"] as? [String: Any])?["docker"] as? [String: Any], "a config.toml block in the README")
        #expect(docker["security_opt"] as? [String] == ["seccomp=unconfined", "apparmor=unconfined"])
    }

    @Test("containerd: the recipe and the README say to set the CRI plugin's config_path, for 1.x and 2.x, and restart")
    func containerdConfigPath() throws {
        let tables = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images"]
        // README: one TOML block per containerd major version, each setting config_path.
        let readme = try Deploy.text("README.md")
        let blocks = try Deploy.markdownBlocks("toml", in: readme).map(Deploy.toml)
        for plugin in tables {
            let block = blocks.first { ($0["plugins"] as? [String: Any])?[plugin] != nil }
            let registry = ((block?["plugins"] as? [String: Any])?[plugin] as? [String: Any])?["registry"] as? [String: Any]
            #expect(registry?["config_path"] as? String == "/etc/containerd/certs.d", "README: [plugins.\"\(plugin)\".registry]")
        }
        #expect(readme.contains("config_path = \"\""), "README: what containerd config default prints")
        #expect(readme.contains("systemctl restart containerd"))

        // The recipe's comments: the same two snippets, header then key, and the restart.
        let comments = try Deploy.text("clients/containerd-hosts.toml").split(separator: "\n")
            .filter { $0.hasPrefix("#") }.map { $0.dropFirst().trimmingCharacters(in: .whitespaces) }
        for plugin in tables {
            let header = try #require(comments.firstIndex(of: "[plugins.\"\(plugin)\".registry]"), "containerd-hosts.toml: \(plugin)")
            #expect(comments[header + 1] == #"config_path = "/etc/containerd/certs.d""#)
        }
        #expect(comments.contains("systemctl restart containerd"))
    }

    @Test("Docker: Layover as the Docker Hub mirror over TLS, its CA where the daemon looks for it")
    func dockerDaemon() throws {
        let daemon = try #require(try Deploy.json("clients/docker-daemon.json") as? [String: Any])
        #expect(daemon["registry-mirrors"] as? [String] == ["https://layover.internal:5000"])
        #expect(daemon["insecure-registries"] == nil)
        let readme = try Deploy.text("README.md")
        #expect(readme.contains("/etc/docker/certs.d/layover.internal:5000/ca.crt"))
        #expect(readme.contains("docker login layover.internal:5000"))
    }

    @Test("Grafana: every panel queries the chosen data source for metrics Layover emits")
    func grafanaDashboard() throws {
        for file in Deploy.files(withExtensions: ["json"]) { _ = try Deploy.json(file) }
        let dashboard = try #require(try Deploy.json("grafana/layover-dashboard.json") as? [String: Any])
        #expect(dashboard["schemaVersion"] as? Int == 39)
        let inputs = dashboard["__inputs"] as? [[String: Any]] ?? []
        #expect(inputs.contains { $0["name"] as? String == "DS_PROMETHEUS" && $0["pluginId"] as? String == "prometheus" })
        let variables = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        #expect(variables.contains { $0["name"] as? String == "DS_PROMETHEUS" && $0["type"] as? String == "datasource" })

        let emitted = try Deploy.emittedMetricNames()
        let panels = try #require(dashboard["panels"] as? [[String: Any]]).filter { $0["type"] as? String != "row" }
        #expect(panels.count >= 10)
        #expect(Set(panels.compactMap { $0["id"] as? Int }).count == panels.count, "panel ids are unique")
        var queried: Set<String> = []
        for panel in panels {
            let title = panel["title"] as? String ?? "?"
            #expect((panel["datasource"] as? [String: Any])?["uid"] as? String == "${DS_PROMETHEUS}", "\(title)")
            let targets = panel["targets"] as? [[String: Any]] ?? []
            #expect(!targets.isEmpty, "\(title) has no query")
            for target in targets {
                let expression = target["expr"] as? String ?? ""
                #expect(expression.contains("layover_"), "\(title): \(expression)")
                for name in Deploy.metricNames(in: expression) {
                    #expect(emitted.contains(Deploy.family(of: name)), "\(title): \(name) is not a metric Layover emits")
                    queried.insert(Deploy.family(of: name))
                }
            }
        }
        for family in ["layover_served_bytes_total", "layover_upstream_fetched_bytes_total", "layover_cache_requests_total",
                       "layover_replication_queue_depth", "layover_store_bytes"] {
            #expect(queried.contains(family), "the dashboard charts \(family)")
        }
    }

    @Test("docs/configuration.md lists every metric Layover emits")
    func metricsDocumented() throws {
        let reference = try String(contentsOf: Deploy.repository.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        for name in try Deploy.emittedMetricNames() {
            #expect(reference.contains("`\(name)`"), "\(name)")
        }
    }

    @Test("the Dockerfile builds in one stage and runs non-root in a slim one, the store on a volume")
    func dockerfile() throws {
        let text = try Deploy.text("Dockerfile")
        let stages = text.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(stages.count == 2)
        #expect(stages.first?.hasPrefix("FROM swift:6.") == true)
        #expect(stages.last == "FROM debian:bookworm-slim")
        #expect(text.contains("swift build -c release --product layover --static-swift-stdlib"))
        #expect(text.contains("strip /out/layover"), "the binary is stripped in the build stage")
        #expect(text.contains("--uid 10001"))
        #expect(text.contains("USER 10001"))
        #expect(text.contains("VOLUME [\"/var/lib/layover\"]"))
        #expect(text.contains("EXPOSE 5000"))
        #expect(text.contains("ENTRYPOINT [\"/usr/local/bin/layover\"]"))
        #expect(text.contains("CMD [\"serve\"]"))
    }
}

/// Reading the files under `deploy/`.
enum Deploy {
    /// The repository root: this file is `Tests/LayoverDeployTests/DeployFilesTests.swift`.
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let root = repository.appendingPathComponent("deploy")
    static let systemdAnalyze = "/usr/bin/systemd-analyze"

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// Paths under deploy/ (relative to it) whose extension is one of `extensions`.
    static func files(withExtensions extensions: Set<String>) -> [String] {
        let paths = FileManager.default.subpaths(atPath: root.path) ?? []
        return paths.filter { extensions.contains(URL(fileURLWithPath: $0).pathExtension) }.sorted()
    }

    /// Every document of a YAML file. Yams reports an error in a later document only through the
    /// sequence's `error`, so it is checked after the last one.
    static func yamlDocuments(_ path: String) throws -> [Any] {
        var sequence = try Yams.load_all(yaml: try text(path))
        var documents: [Any] = []
        while let document = sequence.next() { documents.append(document) }
        if let error = sequence.error { throw error }
        return documents
    }

    /// The Kubernetes objects in kubernetes/layover.yaml by `Kind/name` (a name twice for one kind
    /// is an error).
    static func kubernetesObjects() throws -> [String: [String: Any]] {
        let objects = try yamlDocuments("kubernetes/layover.yaml").compactMap { $0 as? [String: Any] }
        var byKey: [String: [String: Any]] = [:]
        for object in objects {
            let name = (object["metadata"] as? [String: Any])?["name"] as? String ?? "?"
            let key = "\(object["kind"] as? String ?? "?")/\(name)"
            guard byKey.updateValue(object, forKey: key) == nil else { throw DeployTestFailure("\(key) twice in layover.yaml") }
        }
        return byKey
    }

    /// The labels of Layover's pods, which every Service and the NetworkPolicy select.
    static let podLabels = ["app.kubernetes.io/name": "layover"]

    /// A workload's pod spec (`spec.template.spec`).
    static func podSpec(_ workload: [String: Any]?) -> [String: Any]? {
        ((workload?["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
    }

    /// How long a container's preStop hook pauses: `exec: sleep N` or the `sleep: {seconds: N}` action.
    static func preStopPauseSeconds(_ container: [String: Any]) -> Int? {
        guard let preStop = (container["lifecycle"] as? [String: Any])?["preStop"] as? [String: Any] else { return nil }
        if let seconds = (preStop["sleep"] as? [String: Any])?["seconds"] as? Int { return seconds }
        guard let command = (preStop["exec"] as? [String: Any])?["command"] as? [String],
              command.count == 2, ["sleep", "/bin/sleep"].contains(command[0]) else { return nil }
        return Int(command[1])
    }

    /// The bodies of a Markdown text's fenced code blocks in `language` (```toml … ```).
    static func markdownBlocks(_ language: String, in text: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```\(language)" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    static func probePath(_ probe: Any?) -> String? {
        ((probe as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String
    }

    /// A config file applied over the embedded default, as `layover serve --config` does.
    static func configuration(_ yaml: String) throws -> LayoverConfiguration {
        var configuration = LayoverConfiguration.embeddedDefault
        try configuration.apply(yaml: yaml)
        return try configuration.validated()
    }

    /// The `[Service]` section's `Key=value` lines (the last one wins, as in systemd).
    static func serviceSection(_ unit: String) throws -> [String: String] {
        var section = ""
        var keys: [String: String] = [:]
        for line in unit.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") { section = line; continue }
            guard section == "[Service]", let equals = line.firstIndex(of: "=") else { continue }
            keys[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard !keys.isEmpty else { throw DeployTestFailure("the unit has no [Service] section") }
        return keys
    }

    /// The lines of a shell here-document `<<'DELIMITER'` … `DELIMITER`, unindented.
    static func heredoc(_ delimiter: String, in text: String) throws -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let start = lines.firstIndex(where: { $0.hasSuffix("<<'\(delimiter)'") }),
              let end = lines[(start + 1)...].firstIndex(of: delimiter) else {
            throw DeployTestFailure("no here-document \(delimiter)")
        }
        return lines[(start + 1)..<end].joined(separator: "\n")
    }

    static func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(try text(path).utf8))
    }

    /// The metric names Sources/LayoverMetrics creates (histograms without their series suffixes).
    static func emittedMetricNames() throws -> Set<String> {
        let directory = repository.appendingPathComponent("Sources/LayoverMetrics")
        var names: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".swift") {
            let source = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            names.formUnion(metricNames(in: source, quoted: true))
        }
        guard !names.isEmpty else { throw DeployTestFailure("no metric names found under \(directory.path)") }
        return names
    }

    /// `layover_…` names in `text`; with `quoted`, only those written as string literals.
    static func metricNames(in text: String, quoted: Bool = false) -> Set<String> {
        let pattern = quoted ? "\"(layover_[a-z0-9_]+)\"" : "(layover_[a-z0-9_]+)"
        let expression = try! NSRegularExpression(pattern: pattern)
        let range = NSRange(text.startIndex..., in: text)
        return Set(expression.matches(in: text, range: range).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        })
    }

    /// A series name's metric family: a histogram's `_bucket`, `_sum` and `_count` series belong to it.
    static func family(of name: String) -> String {
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            return String(name.dropLast(suffix.count))
        }
        return name
    }

    /// Parses TOML with Python's standard `tomllib` (Debian's python3; no TOML parser among our
    /// Swift dependencies), as JSON objects.
    static func toml(_ text: String) throws -> [String: Any] {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw DeployTestFailure("python3 is missing (Debian: apt-get install python3); it parses the TOML recipes")
        }
        let file = NSTemporaryDirectory() + "layover-\(UUID().uuidString).toml"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try run(python, ["-c", "import sys, json, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], 'rb'))))", file])
        guard result.status == 0 else { throw DeployTestFailure("not valid TOML: \(result.output)") }
        return try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any] ?? [:]
    }

    /// Runs a program to its end; `environment` is added to this process's own.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}

struct DeployTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The intercept-mode recipes: clients keep their refs and get only a proxy and the CA.
@Suite("deploy/clients/intercept")
struct InterceptRecipeTests {
    @Test("the systemd drop-in sets HTTPS_PROXY to Layover's intercept listener and keeps loopback off the proxy")
    func systemdDropIn() throws {
        let text = try Deploy.text("clients/intercept/layover-proxy.conf")
        let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(lines.first == "[Service]")
        #expect(lines.contains("Environment=\"HTTPS_PROXY=http://layover.internal:3128\""))
        #expect(lines.contains { $0.hasPrefix("Environment=\"NO_PROXY=localhost,127.0.0.1") })
    }

    @Test("the GitHub Actions workflow keeps the registry's own ref and gives the builder the proxy and the CA")
    func githubActions() throws {
        let workflow = try #require(try Deploy.yamlDocuments("clients/intercept/github-actions.yml").first as? [String: Any])
        let steps = try #require(((workflow["jobs"] as? [String: Any])?["image"] as? [String: Any])?["steps"] as? [[String: Any]])
        let setup = try #require(steps.first { ($0["uses"] as? String)?.hasPrefix("docker/setup-buildx-action") == true }?["with"] as? [String: Any])
        #expect((setup["driver-opts"] as? String)?.contains("env.HTTPS_PROXY=http://layover.internal:3128") == true)
        #expect((setup["buildkitd-config-inline"] as? String)?.contains("ca = [\"/etc/layover/intercept-ca.crt\"]") == true)
        let build = try #require(steps.first { ($0["uses"] as? String)?.hasPrefix("docker/build-push-action") == true }?["with"] as? [String: Any])
        #expect(build["cache-from"] as? String == "type=registry,ref=ghcr.io/org/app:buildcache")
        #expect((build["cache-to"] as? String)?.hasPrefix("type=registry,ref=ghcr.io/org/app:buildcache,") == true)
    }

    @Test("the Kubernetes example mounts the CA where its buildkitd.toml names it and sets HTTPS_PROXY")
    func kubernetes() throws {
        let objects = try Deploy.yamlDocuments("clients/intercept/kubernetes.yaml").compactMap { $0 as? [String: Any] }
        let config = try #require(objects.first { $0["kind"] as? String == "ConfigMap" }?["data"] as? [String: String])
        #expect(config["buildkitd.toml"]?.contains("ca = [\"/etc/layover/ca.crt\"]") == true)
        let deployment = try #require(objects.first { $0["kind"] as? String == "Deployment" })
        let pod = try #require(((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((pod["containers"] as? [[String: Any]])?.first)
        let env = (container["env"] as? [[String: Any]] ?? []).reduce(into: [String: String]()) { $0[$1["name"] as? String ?? ""] = $1["value"] as? String }
        #expect(env["HTTPS_PROXY"] == "http://layover.layover.svc:3128")
        let mounts = (container["volumeMounts"] as? [[String: Any]] ?? []).compactMap { $0["mountPath"] as? String }
        #expect(mounts.contains("/etc/layover") && mounts.contains("/etc/buildkit"))
    }
}
