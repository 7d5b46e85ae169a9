import LayoverFleet
import LayoverMetrics
import LayoverWire

extension RegistryResponder {
    /// The answer to a pull that memory and the store give at once, with nothing to wait for:
    /// a manifest or blob by digest, stored here, that the repository is known to hold, for a
    /// client whose right is known (anonymous, or a credential verified before). The caller
    /// can answer it where it stands, without a task.
    ///
    /// Nil for anything else, and for every request that would be refused or fail: it is then
    /// answered by `respond(to:)`, which sees it as if this had not been asked. Outside this
    /// path: fleets (owners, redirects, peers), intercepted connections, tags.
    public func respondFromStore(to request: Request) -> Response? {
        guard request.method == .GET || request.method == .HEAD, fleet == nil, request.interceptedUpstream == nil,
              !request.headers.contains(name: PeerHeaders.secret), !request.headers.contains(name: PeerHeaders.hop),
              request.queryValue(BlobGrant.queryName) == nil else { return nil }
        let route = Route(path: request.path)
        guard (try? Self.checkHost(request)) != nil, (try? Self.checkNamespace(request)) != nil,
              mayPullFromMemory(request, route) else { return nil }
        let started = ContinuousClock.now
        let withBody = request.method == .GET
        let response: Response
        switch route {
        case .manifest(let name, let reference):
            guard let digest = try? Digest(parsing: reference), let (client, repository) = try? configuredClient(request, name: name),
                  let answer = pull.storedManifest(client, repository, digest, withBody: withBody) else { return nil }
            response = Self.manifestResponse(answer)
        case .blob(let name, let text):
            guard let digest = try? Digest(parsing: text), let (_, repository) = try? configuredClient(request, name: name),
                  let answer = pull.storedBlob(repository, digest, withBody: withBody) else { return nil }
            let etag = "\"\(digest)\""
            do throws(OCIError) {
                response = try Self.blobResponse(answer, digest: digest, etag: etag,
                                                 range: withBody ? Self.applicableRange(request.headers, etag: etag) : nil)
            } catch {
                // A range that cannot be served: answered here, as `respond(to:)` would.
                response = .error(error, headOnly: !withBody)
            }
        default:
            return nil
        }
        Telemetry.requestStarted()
        return finished(response, request, route, started: started)
    }
}
