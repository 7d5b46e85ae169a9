import LayoverWire

/// Who may do what through intercept mode, for now.
///
/// A client behind `HTTPS_PROXY` sends the upstream's credentials, not Layover's, so Layover's
/// own client authentication does not apply. Until each client's credential is checked against
/// the upstream before cached content reaches it, intercept mode serves pulls only, and only of
/// upstreams Layover reaches without credentials of its own: everything it caches from those,
/// any client could have read from the upstream itself.
extension RegistryResponder {
    /// `request` as it may be served, or a refusal: `404` for Layover's own endpoints, `403
    /// DENIED` for pushes and for upstreams Layover holds credentials for.
    func interceptedAccess(_ request: Request, _ route: Route) throws -> Request {
        let reads = request.method == .GET || request.method == .HEAD
        switch route {
        case .base:
            return request
        case .manifest(let name, _), .blob(let name, _), .tags(let name), .referrers(let name, _):
            guard reads else { throw Self.interceptedPushRefused }
            let (client, _) = try resolve(request, name: name)
            guard client.upstream.credentials == nil else {
                throw OCIError(status: 403, code: .denied, message:
                    "intercept mode does not serve \(client.upstream.name) yet: Layover holds credentials for it, and each client's own is not checked against the upstream yet")
            }
            return request
        case .upload:
            throw Self.interceptedPushRefused
        case .health, .ready, .metrics, .admin, .unknown, .notRegistry:
            throw OCIError(status: 404, code: .nameUnknown, message: "no such endpoint: \(request.path)")
        }
    }

    static let interceptedPushRefused = OCIError(status: 403, code: .denied, message:
        "pushes through intercept mode are not supported yet: push to Layover with the upstream as path prefix (layover:5000/<upstream>/<repository>)")
}
