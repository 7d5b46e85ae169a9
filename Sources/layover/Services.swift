import Logging
import LayoverFleet
import LayoverHTTP
import LayoverMetrics
import LayoverPush
import LayoverStore
import ServiceLifecycle
import UnixSignals

/// The HTTP front as a lifecycle service: serves until a graceful shutdown, then stops accepting
/// and lets answers in progress finish for up to `grace`.
struct FrontService: Service {
    let server: HTTPServer
    let grace: Duration

    func run() async throws {
        // Throws on cancellation (a second signal, or the group failing): drain all the same.
        try? await gracefulShutdown()
        await server.shutdown(grace: grace)
    }
}

/// Every 5 s: flushes access recency to the index and frees abandoned upload sessions; flushes
/// once more on the way out.
struct HousekeepingService: Service {
    let store: BlobStore
    let push: PushService

    func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(5)) }
            await store.flushRecency()
            push.sweepUploads()
        }
        await store.flushRecency()
    }
}

/// The replication queue's worker. On shutdown, jobs in progress are cancelled; they stay in the
/// index as they were and are tried again after the restart.
struct ReplicationService: Service {
    let queue: ReplicationQueue

    func run() async {
        await cancelWhenGracefulShutdown { await queue.run() }
    }
}

/// After a start that followed a crash: compares the blob directories and files with the rows
/// while the front serves (see `BlobStore.checkFilesAfterCrash`), then waits for the shutdown.
/// Stops midway on shutdown; the next start checks again.
struct CrashCheckService: Service {
    let store: BlobStore

    func run() async {
        await cancelWhenGracefulShutdown { await store.checkFilesAfterCrash() }
        // Returning would end the service group: wait for the shutdown instead.
        try? await gracefulShutdown()
    }
}

/// The background scrub (`scrubBytesPerSecond`): passes over the whole store, one after the
/// other at the scrubber's rate, a pass starting at most once a minute (a small store is not
/// read again and again). Stops midway on shutdown.
struct ScrubService: Service {
    let scrubber: StoreScrubber

    func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let started = ContinuousClock.now
                do {
                    try await scrubber.runPass()
                    try await Task.sleep(until: started + .seconds(60))
                } catch {
                    return
                }
            }
        }
    }
}

/// On SIGHUP: reads the files that may be rotated in place again (the TLS certificate and key,
/// the htpasswd file); a file that fails to load leaves the previous one in use, and says why.
struct ReloadService: Service {
    /// What to reload, by name, for the log.
    let reloads: [(name: String, reload: @Sendable () throws -> Void)]
    let logger: Logger

    func run() async {
        guard !reloads.isEmpty else {
            // Returning would end the service group: wait for the shutdown instead.
            try? await gracefulShutdown()
            return
        }
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            for (name, reload) in reloads {
                do {
                    try reload()
                    logger.notice("reloaded", metadata: ["what": "\(name)"])
                } catch {
                    logger.error("reload failed; the previous one stays in use", metadata: ["what": "\(name)", "error": "\(error)"])
                }
            }
        }
    }
}

/// A reload that left the previous file in use.
struct ReloadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Every 2 s, when blob downloads are redirected: asks every other member's `/readyz`, so that a
/// member that is down or not ready gets no redirects until it answers again.
struct FleetProbeService: Service {
    let fleet: Fleet

    func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await fleet.probeMembers()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(2)) }
        }
    }
}

/// Every 5 s: resolves the fleet's DNS name again and replaces the member list when it changed
/// (a name that does not resolve keeps the last list).
struct FleetDNSService: Service {
    let fleet: Fleet
    let dns: DNSMembers
    let logger: Logger

    func run() async {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(5)) }
            let dns = dns
            let found = await Task.detached { dns.resolve() }.value
            guard !found.isEmpty, fleet.membership.replace(with: found) else { continue }
            let members = fleet.membership.current
            Telemetry.fleetMembers(members.count)
            logger.notice("fleet members changed", metadata: ["members": "\(members.map(\.url))"])
        }
    }
}
