import Foundation
import LayoverAuth
import LayoverFleet
import LayoverMetrics
import LayoverPull
import LayoverPush
import LayoverStore
import LayoverUpstream
import LayoverWire
import Logging
import NIOCore
import NIOHTTP1

/// Turns registry requests into answers: routes them, calls the pull service, and maps every
/// failure to OCI error JSON. The only place where module errors become HTTP.
public final class RegistryResponder: Sendable {
    let pull: PullService
    /// Nil when pushes are disabled: upload routes answer `UNSUPPORTED`.
    let push: PushService?
    /// Upstreams on which clients may delete manifests and blobs (none by default).
    let deletionAllowed: Set<String>
    /// Who may pull, push and use the admin endpoints.
    let access: AccessControl
    /// The Prometheus text of every metric; nil when no metrics backend is installed.
    let metricsExporter: (@Sendable () -> [UInt8])?
    /// When this responder was made (seconds since 1970), for the status's uptime.
    let startedAt = Date().timeIntervalSince1970
    /// Runs the passes `POST /_layover/verify` starts, at full speed.
    let scrubber: StoreScrubber
    /// The other nodes; nil for a fleet of one (then every peer request is refused).
    let fleet: Fleet?
    /// Intercept mode: the client credentials the upstream confirmed, per repository.
    let interceptAccess = InterceptAccessCache()
    let logger: Logger

    /// - Parameters:
    ///   - access: client authentication and rights; by default every client may do everything.
    ///   - metricsExporter: renders the metrics backend's registry for `/metrics`.
    ///   - scrubber: runs the online `verify`; by default one over `pull`'s store.
    ///   - fleet: the fleet this node belongs to; nil for a single node.
    public init(pull: PullService, push: PushService? = nil, deletionAllowed: Set<String> = [],
                access: AccessControl = AccessControl(),
                metricsExporter: (@Sendable () -> [UInt8])? = nil,
                scrubber: StoreScrubber? = nil,
                fleet: Fleet? = nil,
                logger: Logger = Logger(label: "layover.http")) {
        self.pull = pull
        self.fleet = fleet
        self.scrubber = scrubber ?? StoreScrubber(store: pull.store)
        self.push = push
        self.deletionAllowed = deletionAllowed
        self.access = access
        self.metricsExporter = metricsExporter
        self.logger = logger
    }

    /// The answer to `request`, with the headers every registry answer carries.
    public func respond(to request: Request) async -> Response {
        var response: Response
        let headOnly = request.method == .HEAD
        let route = Route(path: request.path)
        let started = ContinuousClock.now
        Telemetry.requestStarted()
        do {
            try Self.checkHost(request)
            try Self.checkNamespace(request)
            // A peer already authorized its client; the secret stands for that.
            var interceptAnswer: Response?
            let authorized: Request
            if try isPeerRequest(request) {
                authorized = Self.asSentByClient(request)
            } else if let granted = try withGrant(request, route) {
                authorized = granted
            } else if let upstream = request.interceptedUpstream {
                switch try await intercepted(request, route, upstream: upstream) {
                case .serve(let served): authorized = served
                case .answer(let answer): (authorized, interceptAnswer) = (request, answer)
                }
            } else {
                authorized = try await authorize(request, route)
            }
            if let interceptAnswer {
                response = interceptAnswer
            } else if let forwarded = try await forwardedToOwner(authorized, route) {
                response = forwarded
            } else {
                response = namingUploadOwner(try await self.route(authorized, route), route)
            }
        } catch let error as OCIError {
            response = .error(error, headOnly: headOnly)
        } catch {
            logger.error("unexpected failure", metadata: ["error": "\(error)", "path": "\(Escaping.logValue(request.path))"])
            response = .error(OCIError(status: 500, code: .unavailable, message: "internal error"), headOnly: headOnly)
        }
        return finished(response, request, route, started: started)
    }

    /// `response` with the headers every registry answer carries, its request counted as
    /// finished (it was counted as started at `started`).
    func finished(_ response: Response, _ request: Request, _ route: Route, started: ContinuousClock.Instant) -> Response {
        var response = response
        if response.status == .methodNotAllowed, response.headers["allow"].isEmpty {
            // A refused DELETE is refused because deletion is off: Allow does not offer it.
            let deletion = request.method != .DELETE && !deletionAllowed.isEmpty
            response.headers.add(name: "Allow", value: route.allowedMethods(deletion: deletion).joined(separator: ", "))
        }
        if !response.headers.contains(name: "Docker-Distribution-API-Version") {
            response.headers.add(name: "Docker-Distribution-API-Version", value: "registry/2.0")
        }
        if let namespace = request.queryValue("ns"), HostName.isValid(namespace) {
            response.headers.replaceOrAdd(name: "OCI-Namespace", value: namespace)
        }
        Telemetry.requestFinished(endpoint: route.endpoint, method: request.method.rawValue,
                                  status: Int(response.status.code), seconds: Self.seconds(since: started))
        return response
    }

    private func route(_ request: Request, _ route: Route) async throws -> Response {
        switch route {
        case .base:
            guard request.method == .GET || request.method == .HEAD else { throw Self.methodNotAllowed }
            return .json("{}")
        case .manifest(let name, let reference):
            switch request.method {
            case .GET, .HEAD: return try await manifest(request, name: name, reference: reference)
            case .PUT: return try await putManifest(request, name: name, reference: reference)
            case .DELETE: return try await delete(request, name: name, kind: "manifests", reference: reference)
            default: throw Self.methodNotAllowed
            }
        case .blob(let name, let digest):
            switch request.method {
            case .GET, .HEAD: return try await blob(request, name: name, digest: digest)
            case .DELETE: return try await delete(request, name: name, kind: "blobs", reference: digest)
            default: throw Self.methodNotAllowed
            }
        case .upload(let name, nil):
            guard request.method == .POST else { throw Self.methodNotAllowed }
            return try await startUpload(request, name: name)
        case .upload(let name, let id?):
            return try await continueUpload(request, name: name, id: id)
        case .tags(let name):
            guard request.method == .GET || request.method == .HEAD else { throw Self.methodNotAllowed }
            return try await tags(request, name: name)
        case .referrers(let name, let digest):
            guard request.method == .GET else { throw Self.methodNotAllowed }
            return try await referrers(request, name: name, digest: digest)
        case .admin("queue"):
            guard request.method == .GET else { throw Self.methodNotAllowed }
            return .json(try pushService().queueStatus().json())
        case .admin("queue/retry"):
            guard request.method == .POST else { throw Self.methodNotAllowed }
            return try await retryDeadJobs(request)
        case .admin("status"):
            guard request.method == .GET else { throw Self.methodNotAllowed }
            return .json(status().json())
        case .admin("caches"):
            guard request.method == .GET else { throw Self.methodNotAllowed }
            return .json(CachesStatus(caches: pull.store.caches.entries).json())
        case .admin("verify"):
            return try verify(request)
        case .health:
            return .text("ok\n")
        case .ready:
            return readiness()
        case .metrics:
            return metrics()
        case .admin, .unknown, .notRegistry:
            throw OCIError(status: 404, code: .nameUnknown, message: "no such endpoint: \(request.path)")
        }
    }

    static let methodNotAllowed = OCIError.unsupported("method not allowed")
    /// A cache must not delete upstream content by surprise.
    static let deletionDisabled = OCIError.unsupported("deletion is disabled for this upstream (set allowDelete in the config)")

    /// The client that fetches `name`'s misses, and its repository.
    func resolve(_ request: Request, name: String) throws -> (RegistryClient, RepositoryKey) {
        let (client, repository) = try configuredClient(request, name: name)
        // Intercept mode: misses are fetched with the client's own credential, as the client would
        // have fetched them (checked with the upstream before anything is served). Layover's
        // credentials only write pushes back.
        if request.interceptedUpstream != nil, let authorization = request.headers.first(name: "authorization") {
            return (client.acting(with: authorization), repository)
        }
        return (client, repository)
    }

    /// The configured upstream's client for `name` (a path prefix, `ns`, the default, or the
    /// intercepted host's upstream), and the repository.
    func configuredClient(_ request: Request, name: String) throws -> (RegistryClient, RepositoryKey) {
        do {
            if let upstream = request.interceptedUpstream {
                return try pull.upstreams.resolve(name: "\(upstream)/\(name)", namespace: nil)
            }
            return try pull.upstreams.resolve(name: name, namespace: request.queryValue("ns"))
        } catch .unknownUpstream(let upstream) {
            throw OCIError.nameUnknown("upstream \(upstream) is not configured")
        } catch .invalidName(let repository) {
            throw OCIError.nameInvalid(repository)
        }
    }

    /// RFC 9112 §3.2: an HTTP/1.1 request without `Host`, or any request with more than one, is
    /// answered `400`.
    static func checkHost(_ request: Request) throws(OCIError) {
        var hosts = 0
        for header in request.headers where header.name.utf8.count == 4 && header.name.lowercased() == "host" { hosts += 1 }
        if hosts > 1 || (hosts == 0 && (request.version.major > 1 || request.version.minor >= 1)) {
            throw OCIError(status: 400, code: .unsupported, message: "a request needs exactly one Host header, got \(hosts)")
        }
    }

    /// `ns=` names an upstream by its host: anything but a host name is refused before it can
    /// reach a header, a log line or the upstream directory.
    static func checkNamespace(_ request: Request) throws(OCIError) {
        for item in request.query where item.name == "ns" && !HostName.isValid(item.value) {
            throw OCIError(status: 400, code: .nameInvalid, message: "ns must be a registry host name, got \(item.value)")
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        (ContinuousClock.now - start) / .seconds(1)
    }

    /// Every `Accept` value, whether sent as one line or several. A line with one value (the
    /// usual single-type `Accept`) is kept as it is, with no split.
    static func acceptList(_ headers: HTTPHeaders) -> [String] {
        var list: [String] = []
        for line in headers["accept"] {
            let utf8 = line.utf8
            if !utf8.contains(UInt8(ascii: ",")), utf8.first != UInt8(ascii: " "), utf8.last != UInt8(ascii: " ") {
                if !line.isEmpty { list.append(line) }
                continue
            }
            for item in line.split(separator: ",") {
                let trimmed = item.trimmingCharacters(in: " ")
                if !trimmed.isEmpty { list.append(String(trimmed)) }
            }
        }
        return list
    }
}

extension Substring {
    func trimmingCharacters(in character: Character) -> Substring {
        var sub = self
        while sub.first == character { sub.removeFirst() }
        while sub.last == character { sub.removeLast() }
        return sub
    }
}
