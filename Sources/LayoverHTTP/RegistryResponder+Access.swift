import LayoverAuth
import LayoverStore
import LayoverWire

/// Client access: every request is classified (open, login probe, pull, push, admin), its
/// credential checked and the policy asked, before any work is done — a refused push stores
/// nothing and sends nothing upstream.
extension RegistryResponder {
    /// What a route needs, before its repository names are worked out.
    enum Requirement {
        case open
        case login
        case admin
        case repository(Right, name: String)
    }

    /// Throws `401 UNAUTHORIZED` (with a Basic challenge) or `403 DENIED` unless `request` may be
    /// served. Returns the request to serve: a mount from a repository the client may not pull
    /// becomes a plain upload (the blob is not shared with it; the client uploads it).
    func authorize(_ request: Request, _ route: Route) async throws(OCIError) -> Request {
        let requirement = Self.requirement(request, route)
        if needsNoCredential(request, requirement) { return request }
        let authentication = await access.authenticate(request.headers["authorization"], from: request.remoteAddress?.ipAddress)
        switch access.policy.decide(need(request, requirement), authentication) {
        case .allow:
            return withoutForbiddenMount(request, route, principal: authentication.principal)
        case .challenge(let message):
            if case .failed(let why) = authentication {
                logger.info("client authentication failed", metadata: ["reason": "\(why)", "remote": "\(request.remoteAddress?.ipAddress ?? "-")"])
            }
            throw OCIError(status: 401, code: .unauthorized, message: message, headers: [("WWW-Authenticate", Self.challenge)])
        case .deny(let message):
            throw OCIError(status: 403, code: .denied, message: message)
        }
    }

    /// Whether `request`, a pull, may be served as `authorize` would let it through, judged from
    /// memory alone (no credential check to wait for); false for any other request, when a
    /// credential must be checked, or when it would be refused (`authorize` then answers).
    func mayPullFromMemory(_ request: Request, _ route: Route) -> Bool {
        let requirement = Self.requirement(request, route)
        guard case .repository(.pull, _) = requirement else { return false }
        if needsNoCredential(request, requirement) { return true }
        guard let authentication = access.rememberedAuthentication(request.headers["authorization"]),
              case .allow = access.policy.decide(need(request, requirement), authentication) else { return false }
        return true
    }

    /// The common case costs nothing: an open route, or no credential and a right anonymous
    /// clients have.
    private func needsNoCredential(_ request: Request, _ requirement: Requirement) -> Bool {
        switch requirement {
        case .open:
            return true
        case .repository(let right, _):
            let policy = access.policy
            return policy.anonymous.contains(right) && (!policy.authenticationEnabled || !request.headers.contains(name: "authorization"))
        case .login, .admin:
            return false
        }
    }

    /// What the policy is asked for `request`.
    private func need(_ request: Request, _ requirement: Requirement) -> AccessNeed {
        switch requirement {
        case .open: .open
        case .login: .login
        case .admin: .admin(clientIsLoopback: request.remoteAddress?.ipAddress.map(Loopback.contains) ?? false)
        case .repository(let right, let name): .repository(right, names: repositoryNames(request, name))
        }
    }

    /// The Basic challenge every client handles (docker login, BuildKit, containerd, skopeo, crane).
    static let challenge = #"Basic realm="layover""#

    /// Pull: GET and HEAD of manifests, blobs, tags and referrers; push: any other method on
    /// them (manifest PUT and DELETE, blob DELETE) and every upload request.
    static func requirement(_ request: Request, _ route: Route) -> Requirement {
        let reads = request.method == .GET || request.method == .HEAD
        switch route {
        case .health, .ready: return .open
        case .metrics, .admin: return .admin
        case .base, .unknown, .notRegistry: return .login
        case .manifest(let name, _), .blob(let name, _), .tags(let name), .referrers(let name, _):
            return .repository(reads ? .pull : .push, name: name)
        case .upload(let name, _):
            return .repository(.push, name: name)
        }
    }

    /// The repository as rules may spell it: `<upstream>/<repository>` with the repository as
    /// the upstream knows it (`docker.io/library/alpine`) and as the client wrote it
    /// (`docker.io/alpine`), whether the upstream came from a path prefix, `?ns=` or the default.
    /// A name that resolves to no upstream is matched as written (the request fails later).
    func repositoryNames(_ request: Request, _ name: String) -> [String] {
        let namespace = request.queryValue("ns")
        guard let key = try? pull.upstreams.resolve(name: name, namespace: namespace).1 else { return [name] }
        let canonical = "\(key.upstream)/\(key.repository.value)"
        let written = namespace == nil && name.hasPrefix(key.upstream + "/") ? name : "\(key.upstream)/\(name)"
        return written == canonical ? [canonical] : [canonical, written]
    }

    /// A cross-repository mount also needs pull on its source: without it the mount parameters
    /// are dropped, and the `POST` opens an ordinary upload session.
    private func withoutForbiddenMount(_ request: Request, _ route: Route, principal: Principal?) -> Request {
        guard case .upload(_, nil) = route, request.method == .POST, request.queryValue("mount") != nil,
              let from = request.queryValue("from") else { return request }
        if access.policy.has(.pull, principal, repository: repositoryNames(request, from)) { return request }
        var plain = request
        plain.query.removeAll { $0.name == "mount" || $0.name == "from" }
        return plain
    }
}
