import Foundation
import Testing

/// Every Kubernetes manifest under `deploy/` checked against the Kubernetes API's own OpenAPI
/// schemas, offline, by PyPI's `kubernetes-validate` (it bundles the schemas of each Kubernetes
/// release). `Tests/run.sh` installs it into `.build-venv/`.
@Suite("deploy/ Kubernetes manifests against the API schemas")
struct KubernetesSchemaTests {
    /// The oldest Kubernetes the manifests claim (the preStop sleep, NetworkPolicy, NodePort and
    /// headless Services are all older) and the newest whose schemas the validator carries.
    static let versions = ["1.30.0", "1.37.0"]

    @Test("every Kubernetes manifest under deploy/ validates strictly for Kubernetes 1.30 and 1.37")
    func manifestsMatchTheSchemas() throws {
        let manifests = try Deploy.kubernetesManifests()
        #expect(Set(manifests.keys).isSuperset(of: ["kubernetes/layover.yaml", "kubernetes/networkpolicy.yaml",
                                                    "kubernetes/nodeport.yaml"]), "\(manifests.keys.sorted())")
        // cert-manager's resources have no schema here (the validator only warns about them):
        // CertManagerTests checks that file instead.
        #expect(manifests["kubernetes/certificate.yaml"] == nil)
        let validator = try KubernetesValidate.executable()
        for (file, resources) in manifests.sorted(by: { $0.key < $1.key }) {
            for version in Self.versions {
                let result = try KubernetesValidate.run(validator, path: Deploy.root.appendingPathComponent(file).path, version: version)
                #expect(result.status == 0, "\(file) against Kubernetes \(version):\n\(result.output)")
                // A kind or apiVersion the schemas do not know is only a warning (exit 0): it fails here.
                let complaints = result.output.split(separator: "\n").filter { !$0.hasPrefix("INFO ") }
                #expect(complaints.isEmpty, "\(file) against Kubernetes \(version):\n\(result.output)")
                let passed = result.output.split(separator: "\n").filter { $0.contains(" passed for resource ") }
                #expect(passed.count == resources, "\(file): \(resources) resources, \(passed.count) validated:\n\(result.output)")
            }
        }
    }

    @Test("the validator rejects a manifest with a misspelt field or a wrong type, so the check above can fail")
    func validatorRejectsABrokenManifest() throws {
        let validator = try KubernetesValidate.executable()
        let original = try Deploy.text("kubernetes/layover.yaml")
        let breakages = [
            ("terminationGracePeriodSeconds: 60", "terminationGracePeriodSecond: 60", "'terminationGracePeriodSecond' was unexpected"),
            ("automountServiceAccountToken: false", "automountServiceAccountToken: \"no\"", "is not of type 'boolean'"),
            ("clusterIP: None", "clusterIP: None\n  publishNotReadyAddress: true", "'publishNotReadyAddress' was unexpected"),
        ]
        for (good, bad, complaint) in breakages {
            let broken = original.replacingOccurrences(of: good, with: bad)
            #expect(broken != original, "\(good) is no longer in layover.yaml: pick another breakage")
            let path = NSTemporaryDirectory() + "layover-broken-\(UUID().uuidString).yaml"
            try broken.write(toFile: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let result = try KubernetesValidate.run(validator, path: path, version: Self.versions[0])
            #expect(result.status != 0, "\(bad) passed:\n\(result.output)")
            #expect(result.output.contains(complaint), "\(result.output)")
        }
    }
}

/// PyPI's `kubernetes-validate`, from `.build-venv/` (Tests/run.sh) or `KUBERNETES_VALIDATE`.
enum KubernetesValidate {
    static func executable() throws -> String {
        if let path = ProcessInfo.processInfo.environment["KUBERNETES_VALIDATE"] { return path }
        let path = Deploy.repository.appendingPathComponent(".build-venv/bin/kubernetes-validate").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw DeployTestFailure("""
                kubernetes-validate is missing at \(path); `bash Tests/run.sh` installs it, or by hand: \
                python3 -m venv .build-venv && .build-venv/bin/pip install kubernetes-validate==1.37.0
                """)
        }
        return path
    }

    /// `kubernetes-validate --strict` (unknown fields are errors) on one file, every document of it.
    static func run(_ executable: String, path: String, version: String) throws -> (status: Int32, output: String) {
        try Deploy.run(executable, ["--strict", "--kubernetes-version", version, path])
    }
}

extension Deploy {
    /// API groups of custom resources the Kubernetes schemas do not hold (cert-manager's).
    static let customResourceGroups: Set<String> = ["cert-manager.io"]

    /// The YAML files under deploy/ that hold Kubernetes objects (documents with `apiVersion` and
    /// `kind`), each with its number of objects. A file mixing objects and other documents is an
    /// error; so is one mixing custom resources (`customResourceGroups`, left out) with built-in
    /// objects, which the validator would half check.
    static func kubernetesManifests() throws -> [String: Int] {
        var manifests: [String: Int] = [:]
        for file in files(withExtensions: ["yaml", "yml"]) {
            let documents = try yamlDocuments(file)
            let objects = documents.compactMap { document -> String? in
                guard let mapping = document as? [String: Any], mapping["kind"] is String else { return nil }
                return mapping["apiVersion"] as? String
            }
            guard !objects.isEmpty else { continue }
            guard objects.count == documents.count else {
                throw DeployTestFailure("\(file): \(documents.count - objects.count) documents are not Kubernetes objects")
            }
            let custom = objects.filter { customResourceGroups.contains(String($0.split(separator: "/").first ?? "")) }
            if custom.count == objects.count { continue }
            guard custom.isEmpty else {
                throw DeployTestFailure("\(file): custom resources (\(custom)) belong in a file of their own")
            }
            manifests[file] = objects.count
        }
        return manifests
    }
}
