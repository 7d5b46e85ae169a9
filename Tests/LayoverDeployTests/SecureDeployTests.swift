import Foundation
import LayoverConfig
import LayoverTestSupport
import Testing
import Yams

/// The deploy files that serve TLS and authenticate clients: the Secrets are mounted where the
/// configuration looks, the reload container really signals Layover when they change, the
/// cert-manager resources make the Secret the pod mounts, the CI recipes log in, and the
/// configuration reference documents every key and parses as written.
@Suite("deploy/ with TLS and credentials")
struct SecureDeployTests {
    @Test("Kubernetes: the certificate, key and htpasswd come from Secrets, mounted where the ConfigMap's file looks")
    func kubernetesSecretsMounted() throws {
        let objects = try Deploy.kubernetesObjects()
        let data = try #require(objects["ConfigMap/layover-config"]?["data"] as? [String: String])
        let configuration = try Deploy.configuration(try #require(data["layover.yaml"]))
        let certificate = try #require(configuration.tlsCertificate, "the ConfigMap's file serves TLS")
        let key = try #require(configuration.tlsKey)
        let auth = try #require(configuration.auth, "the ConfigMap's file authenticates clients")
        let htpasswd = try #require(auth.htpasswd)

        let pod = try #require(Deploy.podSpec(objects["StatefulSet/layover"]))
        let layover = try #require(Deploy.container("layover", in: pod))
        let secrets = Deploy.secretVolumes(pod)
        #expect(Set(secrets.values) == ["layover-tls", "layover-htpasswd"], "\(secrets)")
        let volumes = pod["volumes"] as? [[String: Any]] ?? []
        for volume in volumes where volume["secret"] != nil {
            // Not optional: without the Secret the pod waits, instead of starting without TLS and failing.
            #expect((volume["secret"] as? [String: Any])?["optional"] == nil, "\(volume["name"] ?? "?")")
        }
        // A kubernetes.io/tls Secret's keys are tls.crt and tls.key; the htpasswd Secret's is htpasswd.
        let mounts = Deploy.mountPaths(layover)
        let tlsDirectory = try #require(secrets.first { $0.value == "layover-tls" }.flatMap { mounts[$0.key] })
        let authDirectory = try #require(secrets.first { $0.value == "layover-htpasswd" }.flatMap { mounts[$0.key] })
        #expect(certificate == tlsDirectory + "/tls.crt")
        #expect(key == tlsDirectory + "/tls.key")
        #expect(htpasswd == authDirectory + "/htpasswd")
        // Not under another volume's mount (a nested mount point in a read-only ConfigMap volume).
        #expect(!tlsDirectory.hasPrefix("/etc/layover/") && !authDirectory.hasPrefix("/etc/layover/"))

        // What the file grants: anonymous pulls (mirrors send no credential), pushes for ci,
        // /metrics for prometheus, an upload cap.
        #expect(auth.anonymous.map(\.rawValue) == ["pull"])
        let ciRule = try #require(auth.rules?.first { $0.who.contains("ci") })
        #expect(ciRule.allow.map(\.rawValue).sorted() == ["pull", "push"])
        #expect(auth.adminUsers == ["prometheus"])
        #expect(configuration.limits.maxUploadBytes != nil)

        // HTTPS probes (they need no credential), Prometheus told to scrape https.
        for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
            let get = (layover[probe] as? [String: Any])?["httpGet"] as? [String: Any]
            #expect(get?["scheme"] as? String == "HTTPS", "\(probe)")
            #expect(get?["port"] as? String == "https", "\(probe)")
        }
        let annotations = (objects["StatefulSet/layover"].flatMap(Deploy.podTemplateMetadata))?["annotations"] as? [String: String]
        #expect(annotations?["prometheus.io/scheme"] == "https")

        // How to make the two Secrets, in the manifest's header and in deploy/README.md.
        let manifest = try Deploy.text("kubernetes/layover.yaml")
        let readme = try Deploy.text("README.md")
        for command in ["kubectl create secret tls layover-tls --cert=tls.crt --key=tls.key",
                        "kubectl create secret generic layover-htpasswd --from-file=htpasswd"] {
            #expect(manifest.contains(command) && readme.contains(command), "\(command)")
        }
    }

    @Test("Kubernetes: the reload container shares the process namespace, mounts the same Secrets and runs Layover's image")
    func kubernetesReloadContainer() throws {
        let pod = try #require(Deploy.podSpec(try Deploy.kubernetesObjects()["StatefulSet/layover"]))
        #expect(pod["shareProcessNamespace"] as? Bool == true, "the reload container must see Layover's process")
        let layover = try #require(Deploy.container("layover", in: pod))
        let reload = try #require(Deploy.container("reload", in: pod))
        #expect(reload["image"] as? String == layover["image"] as? String, "nothing else to pull or trust")
        let secrets = Deploy.secretVolumes(pod)
        let layoverMounts = Deploy.mountPaths(layover), reloadMounts = Deploy.mountPaths(reload)
        for volume in secrets.keys {
            #expect(reloadMounts[volume] != nil && reloadMounts[volume] == layoverMounts[volume], "\(volume)")
        }
        let security = try #require(reload["securityContext"] as? [String: Any])
        #expect(security["readOnlyRootFilesystem"] as? Bool == true)
        #expect(security["allowPrivilegeEscalation"] as? Bool == false)
        #expect((security["capabilities"] as? [String: Any])?["drop"] as? [String] == ["ALL"])
        // Same user as Layover (the pod's), so the signal needs no capability.
        #expect(security["runAsUser"] == nil)
        #expect((pod["securityContext"] as? [String: Any])?["runAsUser"] as? Int == 10001)
        #expect((reload["resources"] as? [String: Any])?["limits"] != nil)
    }

    @Test("Kubernetes: the reload script sends SIGHUP to the layover process when a watched file changes, and only then")
    func reloadScriptSignals() async throws {
        let pod = try #require(Deploy.podSpec(try Deploy.kubernetesObjects()["StatefulSet/layover"]))
        let reload = try #require(Deploy.container("reload", in: pod))
        let command = try #require(reload["command"] as? [String])
        #expect(command.count == 3 && command[0] == "/bin/sh" && command[1] == "-c")
        let script = command[2]
        let data = try #require(try Deploy.kubernetesObjects()["ConfigMap/layover-config"]?["data"] as? [String: String])
        let configuration = try Deploy.configuration(try #require(data["layover.yaml"]))
        let watched = [configuration.tlsCertificate, configuration.tlsKey, configuration.auth?.htpasswd].compactMap { $0 }
        #expect(watched.count == 3)

        // The script as shipped, pointed at files here, polling every 0.2 s instead of 30 s, and
        // looking for a process of a unique name (the layover processes of other tests running now
        // must not be signalled): a script of that name stands for Layover. It dies of SIGHUP: it
        // restores the default action and unblocks the signal, which the test process may hand
        // down ignored or blocked.
        let directory = NSTemporaryDirectory() + "layover-reload-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var local = script
        for (index, path) in watched.enumerated() {
            #expect(local.contains(path), "the script watches \(path)")
            let copy = "\(directory)/watched-\(index)"
            try "version 1\n".write(toFile: copy, atomically: true, encoding: .utf8)
            local = local.replacingOccurrences(of: path, with: copy)
        }
        let name = "lyv\(UInt32.random(in: 0...UInt32.max))"
        for (shipped, replaced) in [("while sleep 30; do", "while sleep 0.2; do"), ("\" = layover ]", "\" = \(name) ]")] {
            #expect(local.contains(shipped), "the script has \(shipped)")
            local = local.replacingOccurrences(of: shipped, with: replaced)
        }
        let standInScript = """
            #!/usr/bin/python3
            import signal, time
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGHUP])
            time.sleep(60)

            """
        try standInScript.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: "\(directory)/\(name)")
        let standIn = Process()
        try ProcessLauncher.launch(standIn, executable: "\(directory)/\(name)", arguments: [])
        defer { if standIn.isRunning { standIn.terminate() } }

        let watcher = Process()
        let output = Pipe()
        watcher.standardOutput = output
        watcher.standardError = output
        // The loop never ends by itself: it must die with the test process, however that ends.
        try ProcessLauncher.launch(watcher, executable: "/bin/sh", arguments: ["-c", local])
        defer { if watcher.isRunning { watcher.terminate() } }

        // Unchanged files: no signal.
        try await Task.sleep(for: .seconds(1.5))
        #expect(standIn.isRunning, "signalled although nothing changed")
        // A renewed key (the Secret's files are replaced all at once; one changed file is enough).
        try "version 2\n".write(toFile: "\(directory)/watched-1", atomically: true, encoding: .utf8)
        let deadline = ContinuousClock.now + .seconds(10)
        while standIn.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!standIn.isRunning, "no SIGHUP within 10 s of the change")
        if !standIn.isRunning {
            #expect(standIn.terminationReason == .uncaughtSignal && standIn.terminationStatus == SIGHUP)
        }
        watcher.terminate()
        watcher.waitUntilExit()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(said.contains("sent SIGHUP to layover"), "\(said)")
    }

    @Test("cert-manager: a CA and an Issuer of it, and Layover's Certificate writing the Secret the pod mounts")
    func certManagerCertificate() throws {
        let documents = try Deploy.yamlDocuments("kubernetes/certificate.yaml").compactMap { $0 as? [String: Any] }
        var byKey: [String: [String: Any]] = [:]
        for document in documents {
            #expect(document["apiVersion"] as? String == "cert-manager.io/v1")
            let name = try #require((document["metadata"] as? [String: Any])?["name"] as? String)
            byKey["\(document["kind"] as? String ?? "?")/\(name)"] = document
        }
        #expect(Set(byKey.keys) == ["Issuer/layover-selfsigned", "Certificate/layover-ca", "Issuer/layover-ca", "Certificate/layover"])

        // Field names as cert-manager v1 knows them: a misspelt one would be dropped or refused.
        let certificateFields: Set<String> = ["secretName", "issuerRef", "dnsNames", "ipAddresses", "uris", "emailAddresses",
                                              "commonName", "duration", "renewBefore", "usages", "privateKey", "isCA", "subject",
                                              "secretTemplate"]
        let issuerKinds: Set<String> = ["selfSigned", "ca", "acme", "vault", "venafi"]
        for (key, object) in byKey {
            let spec = try #require(object["spec"] as? [String: Any], "\(key)")
            if key.hasPrefix("Issuer/") {
                #expect(spec.count == 1 && spec.keys.allSatisfy(issuerKinds.contains), "\(key): \(Array(spec.keys))")
                continue
            }
            #expect(Set(spec.keys).isSubset(of: certificateFields), "\(key): \(Set(spec.keys).subtracting(certificateFields))")
            let issuer = try #require(spec["issuerRef"] as? [String: Any], "\(key)")
            #expect(Set(issuer.keys).isSubset(of: ["name", "kind", "group"]))
            #expect(issuer["group"] as? String == "cert-manager.io")
            let issuerKey = "\(issuer["kind"] as? String ?? "?")/\(issuer["name"] as? String ?? "?")"
            #expect(byKey[issuerKey] != nil, "\(key) is issued by \(issuerKey), which the file defines")
            let privateKey = try #require(spec["privateKey"] as? [String: Any], "\(key)")
            #expect(Set(privateKey.keys).isSubset(of: ["algorithm", "size", "encoding", "rotationPolicy"]))
            #expect(["RSA", "ECDSA", "Ed25519"].contains(privateKey["algorithm"] as? String ?? ""))
        }
        // The CA: self-signed, its Secret the CA Issuer's.
        let caSpec = try #require(byKey["Certificate/layover-ca"]?["spec"] as? [String: Any])
        #expect(caSpec["isCA"] as? Bool == true)
        #expect((caSpec["issuerRef"] as? [String: Any])?["name"] as? String == "layover-selfsigned")
        let caIssuer = try #require(byKey["Issuer/layover-ca"]?["spec"] as? [String: Any])
        #expect((caIssuer["ca"] as? [String: Any])?["secretName"] as? String == caSpec["secretName"] as? String)

        // Layover's: the Secret the StatefulSet mounts, the names clients use, renewed well before the end.
        let spec = try #require(byKey["Certificate/layover"]?["spec"] as? [String: Any])
        let pod = try #require(Deploy.podSpec(try Deploy.kubernetesObjects()["StatefulSet/layover"]))
        #expect(Deploy.secretVolumes(pod).values.contains(spec["secretName"] as? String ?? "?"))
        #expect(spec["secretName"] as? String == "layover-tls")
        #expect(spec["isCA"] == nil)
        let names = try #require(spec["dnsNames"] as? [String])
        #expect(names.contains("layover.internal"), "the name of the client recipes and the nodes' hosts.toml")
        #expect(names.contains("layover"))
        #expect((spec["usages"] as? [String])?.contains("server auth") == true)
        let duration = try #require((spec["duration"] as? String).flatMap(Deploy.hours))
        let renewBefore = try #require((spec["renewBefore"] as? String).flatMap(Deploy.hours))
        #expect(renewBefore > 24 && renewBefore < duration / 2, "renewed days ahead, after the first half")
        #expect((spec["privateKey"] as? [String: Any])?["rotationPolicy"] as? String == "Always")
    }

    @Test("CI recipes log in to Layover and give BuildKit its CA")
    func ciLogins() throws {
        let workflow = try #require(try Deploy.yamlDocuments("clients/github-actions.yml").first as? [String: Any])
        let steps = ((workflow["jobs"] as? [String: Any])?["image"] as? [String: Any])?["steps"] as? [[String: Any]] ?? []
        let uses = steps.map { $0["uses"] as? String ?? "" }
        let login = try #require(uses.firstIndex { $0.hasPrefix("docker/login-action@") }, "a docker login step")
        let build = try #require(uses.firstIndex { $0.hasPrefix("docker/build-push-action@") })
        #expect(login < build)
        let with = try #require(steps[login]["with"] as? [String: Any])
        #expect(with["registry"] as? String == "layover.internal:5000")
        #expect((with["password"] as? String)?.hasPrefix("${{ secrets.") == true, "the password from a secret, not the file")

        let gitlab = try Deploy.text("clients/gitlab-ci.yml")
        let job = try #require(try Deploy.yamlDocuments("clients/gitlab-ci.yml").first as? [String: Any])
        let before = try #require((job["build"] as? [String: Any])?["before_script"] as? [String]).joined(separator: "\n")
        let toml = try Deploy.toml(try Deploy.heredoc("TOML", in: gitlab))
        let authority = try #require(((toml["registry"] as? [String: Any])?["layover.internal:5000"] as? [String: Any])?["ca"] as? [String])
        // The CA file the TOML names is the one the job writes (rootless BuildKit's home is /home/user).
        let written = try #require(authority.first?.replacingOccurrences(of: "/home/user/", with: "~/"))
        #expect(before.contains("cp \"$LAYOVER_CA\" \(written)"), "\(before)")
        #expect(before.contains("\"auths\":{\"layover.internal:5000\""))
        #expect(before.contains("$LAYOVER_PASSWORD") && before.contains("~/.docker/config.json"))
    }

    @Test("systemd: the example serves TLS and authenticates, from files under /etc/layover the unit can read")
    func systemdTLSAndAuth() throws {
        let configuration = try Deploy.configuration(try Deploy.text("systemd/layover.yaml"))
        #expect(configuration.tlsCertificate == "/etc/layover/tls.crt")
        #expect(configuration.tlsKey == "/etc/layover/tls.key")
        #expect(configuration.auth?.htpasswd == "/etc/layover/htpasswd")
        #expect(configuration.auth?.anonymous.map(\.rawValue) == ["pull"])
        let readme = try Deploy.text("README.md")
        #expect(readme.contains("install -m 0640 -g layover tls.key /etc/layover/tls.key"))
        #expect(readme.contains("systemctl reload layover"))
    }

    @Test("docs/configuration.md: every YAML example is a configuration Layover accepts, so is the README's")
    func documentedExamplesParse() throws {
        let reference = try String(contentsOf: Deploy.repository.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let blocks = Deploy.markdownBlocks("yaml", in: reference)
        #expect(blocks.count >= 5, "the examples, the auth section, TLS, limits, the network example")
        for block in blocks {
            _ = try Deploy.configuration(block)
        }
        let network = try Deploy.configuration(try #require(blocks.last { $0.contains("tls:") && $0.contains("auth:") && $0.contains("limits:") }))
        #expect(network.tlsCertificate != nil && network.auth != nil && network.limits.maxUploadBytes == 20 << 30)

        // The README's configuration file (not its auth fragment, whose hash is shortened).
        let readme = try String(contentsOf: Deploy.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let file = try #require(Deploy.markdownBlocks("yaml", in: readme).first { $0.hasPrefix("listen:") })
        let configuration = try Deploy.configuration(file)
        #expect(configuration.tlsKey != nil && configuration.maxUploadSessionsPerClient == 256)
    }

    @Test("docs/configuration.md documents every key --print-config prints, the tls and limits keys among them")
    func everyKeyDocumented() throws {
        let configuration = try Deploy.configuration("""
            indexSynchronous: normal
            maxConnections: 100
            upstreams:
              registry.internal:
                url: http://registry.internal:5000
                username: bot
                password: secret
                tagFreshnessSeconds: 30
                stallTimeoutSeconds: 20
                push: sync
                allowDelete: true
            tls:
              certificate: /etc/layover/tls.crt
              key: /etc/layover/tls.key
            auth:
              htpasswd: /etc/layover/htpasswd
              tokens:
                - name: ci
                  sha256: ed94d110e7a8901698f5b273232c05eb39451d104668d32105fe9df0c19fa128
              anonymous: [pull]
              rules:
                - who: [ci]
                  repositories: ["*"]
                  allow: [pull, push]
              adminUsers: [ci]
            limits:
              maxUploadBytes: 1GiB
            """)
        let printed = try #require(try Yams.load(yaml: ConfigurationPrinter.yaml(configuration)) as? [String: Any])
        let reference = try String(contentsOf: Deploy.repository.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let keys = Deploy.keyPaths(printed)
        for key in ["tls.certificate", "tls.key", "limits.headerTimeoutSeconds", "limits.idleTimeoutSeconds", "limits.maxHeaderBytes",
                    "limits.maxConcurrentStreams", "limits.maxUploadBytes", "maxUploadSessionsPerClient"] {
            #expect(keys.contains(key), "--print-config prints \(key)")
        }
        for key in keys {
            #expect(reference.contains("`\(key)`"), "\(key) is not in the reference's keys table")
        }
        #expect(reference.contains("`limits.maxConnections`"))
        #expect(reference.contains("`--tls-cert FILE`") && reference.contains("`--tls-key FILE`"))
    }
}

extension Deploy {
    /// A pod's container by name.
    static func container(_ name: String, in pod: [String: Any]) -> [String: Any]? {
        (pod["containers"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    /// Volume name → Secret name, for the pod's Secret volumes.
    static func secretVolumes(_ pod: [String: Any]) -> [String: String] {
        var secrets: [String: String] = [:]
        for volume in pod["volumes"] as? [[String: Any]] ?? [] {
            if let name = volume["name"] as? String, let secret = (volume["secret"] as? [String: Any])?["secretName"] as? String {
                secrets[name] = secret
            }
        }
        return secrets
    }

    /// Volume name → mount path, for one container.
    static func mountPaths(_ container: [String: Any]) -> [String: String] {
        var paths: [String: String] = [:]
        for mount in container["volumeMounts"] as? [[String: Any]] ?? [] {
            if let name = mount["name"] as? String, let path = mount["mountPath"] as? String { paths[name] = path }
        }
        return paths
    }

    /// A workload's pod template metadata (`spec.template.metadata`).
    static func podTemplateMetadata(_ workload: [String: Any]) -> [String: Any]? {
        ((workload["spec"] as? [String: Any])?["template"] as? [String: Any])?["metadata"] as? [String: Any]
    }

    /// A Go duration of whole hours (`2160h`), in hours.
    static func hours(_ text: String) -> Int? {
        guard text.hasSuffix("h") else { return nil }
        return Int(text.dropLast())
    }

    /// The key paths of a configuration as the reference names them: `limits.maxUploadBytes`,
    /// `upstreams.NAME.url`, `auth.tokens[].name`.
    static func keyPaths(_ mapping: [String: Any], prefix: String = "") -> Set<String> {
        var paths: Set<String> = []
        for (key, value) in mapping {
            let path = prefix == "upstreams." ? "upstreams.NAME" : prefix + key
            if let inner = value as? [String: Any] {
                paths.formUnion(keyPaths(inner, prefix: path + "."))
            } else if let items = value as? [[String: Any]] {
                for item in items { paths.formUnion(keyPaths(item, prefix: path + "[].")) }
            } else {
                paths.insert(path)
            }
        }
        return paths
    }
}
