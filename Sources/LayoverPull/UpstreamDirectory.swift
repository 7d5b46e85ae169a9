import LayoverStore
import LayoverUpstream
import LayoverWire

/// The configured upstreams, and how a client's repository name picks one.
///
/// Naming rules (see DESIGN.md §2): `ns=<host>` names the upstream outright; otherwise a first
/// path component equal to an upstream's name selects it (registry mode); otherwise a first
/// component that looks like a host is an unconfigured upstream and refused (no open relay);
/// otherwise the default upstream. Docker Hub's one-component names get `library/`.
public struct UpstreamDirectory: Sendable {
    private let clients: [String: RegistryClient]
    /// The upstream used for names without a prefix.
    public let defaultUpstream: String?

    public init(clients: [RegistryClient], defaultUpstream: String?) {
        self.clients = Dictionary(clients.map { ($0.upstream.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.defaultUpstream = defaultUpstream
    }

    /// The client for the upstream named `name`.
    public func client(named name: String) -> RegistryClient? { clients[name] }

    /// Every configured upstream.
    public var all: [RegistryClient] { Array(clients.values) }

    /// Resolves a request's name (and `ns`) to an upstream client and repository.
    public func resolve(name: String, namespace: String?) throws(ResolutionError) -> (RegistryClient, RepositoryKey) {
        if let namespace, !namespace.isEmpty {
            guard let client = clients[namespace] ?? clients.values.first(where: { $0.upstream.host == namespace })
                ?? (namespace == "docker.io" ? clients.values.first(where: \.upstream.isDockerHub) : nil)
            else { throw .unknownUpstream(namespace) }
            return (client, try key(client, name))
        }
        // Split at the first `/` by bytes: every request's name comes this way.
        let slash = name.utf8.firstIndex(of: UInt8(ascii: "/"))
        if let slash, let client = clients[String(name[..<slash])] {
            return (client, try key(client, String(name[name.utf8.index(after: slash)...])))
        }
        let first = slash.map { name[..<$0] } ?? name[...]
        if first.utf8.contains(UInt8(ascii: ".")) || first.utf8.contains(UInt8(ascii: ":")) || first == "localhost" {
            throw .unknownUpstream(String(first))
        }
        guard let defaultUpstream, let client = clients[defaultUpstream] else {
            throw .unknownUpstream("(no default upstream)")
        }
        return (client, try key(client, name))
    }

    private func key(_ client: RegistryClient, _ repository: String) throws(ResolutionError) -> RepositoryKey {
        var repository = repository
        if !repository.utf8.contains(UInt8(ascii: "/")), client.upstream.isDockerHub { repository = "library/" + repository }
        do {
            return RepositoryKey(upstream: client.upstream.name, repository: try RepositoryName(repository))
        } catch {
            throw .invalidName(repository)
        }
    }

    /// Why a name could not be resolved.
    public enum ResolutionError: Error, Equatable, Sendable {
        /// The name picks an upstream that is not configured.
        case unknownUpstream(String)
        /// The repository part breaks the name grammar.
        case invalidName(String)
    }
}
