import ArgumentParser
import Foundation
import LayoverConfig
import LayoverHTTP
import LayoverStore

/// `layover caches`: the BuildKit caches a running Layover has seen, as a table or JSON.
struct Caches: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the BuildKit caches a running Layover has seen: size, last push and import, what the last import fetched, what the last rewrite orphaned.")

    @OptionGroup var admin: AdminOptions

    func run() async throws {
        guard let body = try await admin.fetch("/_layover/caches") else { return }
        let status = try JSONDecoder().decode(CachesStatus.self, from: body)
        if status.caches.isEmpty {
            print("no BuildKit cache seen at \(admin.server) since it started")
            return
        }
        print(CachesTable.rows(status.caches, now: Date().timeIntervalSince1970).joined(separator: "\n"))
    }
}

/// Renders caches for a terminal, one per line.
enum CachesTable {
    static func rows(_ caches: [CacheLedger.Entry], now: Double) -> [String] {
        let header = ["CACHE", "FORM", "SIZE", "LAYERS", "LAST PUSH", "LAST IMPORT", "IMPORT FROM STORE / FETCHED", "ORPHANED BY LAST REWRITE"]
        let rows = caches.map { cache in
            [
                "\(cache.upstream)/\(cache.repository)\(cache.tag.hasPrefix("@") ? "" : ":")\(cache.tag)",
                cache.form, ByteSize.format(cache.bytes), "\(cache.layers)",
                ago(cache.lastPush, now: now), ago(cache.lastImport, now: now),
                importFigures(cache),
                cache.orphanedByLastRewriteBytes.map(ByteSize.format) ?? "-",
            ]
        }
        return Columns.render([header] + rows)
    }

    /// `1.2MiB / 300KiB (80% from store)`, or `-` before any import.
    static func importFigures(_ cache: CacheLedger.Entry) -> String {
        guard let fromStore = cache.importFromStoreBytes, let fetched = cache.importFetchedBytes else { return "-" }
        let total = fromStore + fetched
        let share = total > 0 ? " (\(StatusTable.percent(Double(fromStore) / Double(total))) from store)" : ""
        return "\(ByteSize.format(fromStore)) / \(ByteSize.format(fetched))\(share)"
    }

    static func ago(_ time: Double?, now: Double) -> String {
        guard let time else { return "-" }
        return "\(StatusTable.duration(max(0, now - time))) ago"
    }
}
