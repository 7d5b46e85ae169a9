import ArgumentParser
import Foundation
import LayoverConfig
import LayoverHTTP

/// `layover status`: a running Layover's store, traffic, queue and upstreams, as a table or JSON.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a running Layover's store usage, hit ratio, replication queue and upstream health.")

    @OptionGroup var admin: AdminOptions

    func run() async throws {
        guard let body = try await admin.fetch("/_layover/status") else { return }
        print(StatusTable.render(try JSONDecoder().decode(AdminStatus.self, from: body), server: admin.server))
    }
}

/// Renders the admin status for a terminal.
enum StatusTable {
    static func render(_ status: AdminStatus, server: String) -> String {
        let store = status.store
        let traffic = status.traffic
        let used = store.budgetBytes > 0 ? Double(store.bytes) / Double(store.budgetBytes) : 0
        var lines = [
            "Layover at \(server), up \(duration(status.uptimeSeconds))",
            "",
            "store     \(ByteSize.format(store.bytes)) of \(ByteSize.format(store.budgetBytes)) (\(percent(used))), "
                + "\(store.files) blobs, \(ByteSize.format(store.reservedBytes)) reserved — \(store.root)",
            "traffic   \(traffic.requests) requests; hit ratio \(status.hitRatio.map(percent) ?? "-") "
                + "(manifests \(traffic.manifestHits) hit / \(traffic.manifestMisses) miss, "
                + "blobs \(traffic.blobHits) hit / \(traffic.blobMisses) miss); \(traffic.coalesced) coalesced",
            "bytes     served \(ByteSize.format(traffic.servedFromStoreBytes)) from the store and "
                + "\(ByteSize.format(traffic.servedWhileFetchingBytes)) while fetching; fetched upstream "
                + "\(ByteSize.format(traffic.fetchedUpstreamBytes)); egress saved \(ByteSize.format(status.egressSavedBytes))",
        ]
        if let queue = status.queue {
            lines.append("queue     \(queue.pending) waiting (oldest \(duration(queue.oldestPendingSeconds))), \(queue.dead) dead")
        } else {
            lines.append("queue     pushes disabled")
        }
        if let fleet = status.fleet {
            let traffic = fleet.traffic
            lines.append("fleet     \(fleet.members.count) members, this node \(fleet.me) (share \(percent(fleet.share))); "
                + "peer fills \(traffic.peerFillsUsed) used (\(ByteSize.format(traffic.peerFillBytes))) / \(traffic.peerFillsServed) served; "
                + "\(traffic.forwardedRequests) forwarded; \(traffic.blobRedirects) blob redirects; "
                + "\(traffic.peerErrors) peer errors; \(traffic.refusedPeerRequests) refused")
            lines.append("members   " + fleet.members.map { member in
                if member == fleet.me { return "\(member) (this node)" }
                return fleet.unreachable[member].map { "\(member) (unreachable for \(duration($0)))" } ?? member
            }.joined(separator: ", "))
        }
        lines.append("")
        let header = ["UPSTREAM", "STATE", "REQUESTS", "FAILURES", "429s", "LAST ERROR"]
        let rows = status.upstreams.map { upstream in
            [upstream.name, upstream.state, "\(upstream.health.requests)", "\(upstream.health.failures)",
             "\(upstream.health.throttled)", upstream.health.lastError ?? ""]
        }
        lines.append(contentsOf: Columns.render([header] + rows))
        if let caches = status.caches, !caches.isEmpty {
            lines.append("")
            lines.append(contentsOf: CachesTable.rows(caches, now: Date().timeIntervalSince1970))
        }
        return lines.joined(separator: "\n")
    }

    static func percent(_ ratio: Double) -> String {
        "\((ratio * 1000).rounded() / 10)%"
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds)
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m \(total % 60)s" }
        return "\(total / 3600)h \(total % 3600 / 60)m"
    }
}

/// Aligned columns; the last column is not padded.
enum Columns {
    static func render(_ rows: [[String]]) -> [String] {
        guard let first = rows.first else { return [] }
        let widths = first.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }
}
