import ArgumentParser
import Foundation
import LayoverConfig
import LayoverStore

/// `layover verify`: re-hashes every stored blob; corrupt ones are reported and quarantined.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-hash every stored blob; report and quarantine corrupt ones (exit 1 if any).",
        discussion: """
            Without --server, runs on a store no server has open (the store is locked while \
            `layover serve` runs). With --server, the running Layover scrubs its own store while \
            it serves (POST /_layover/verify), and this command follows the pass to its end. \
            Either way a corrupt blob's file moves to <storage>/quarantine/ and its index row is \
            dropped, so it is not served again and the next pull fetches it anew.
            """)

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "A running Layover to verify its own store (an admin endpoint), instead of opening the store here.")
    var server: String?

    func run() async throws {
        if let server {
            try await Self.throughServer(server)
            return
        }
        let configuration = try options.effectiveConfiguration()
        let store = try configuration.openStore()
        let records = store.records.sorted { $0.digest.description < $1.digest.description }
        let total = records.reduce(0) { $0 + $1.size }
        let progress = ProgressLine(verb: "verified", total: total)
        var corrupt: [(digest: String, problem: String, movedTo: String)] = []
        for record in records {
            guard let problem = store.check(record, progress: progress.advance) else { continue }
            let movedTo = try await store.quarantine(record.digest)
            corrupt.append((record.digest.description, problem, movedTo))
        }
        progress.finish()
        await store.closeCleanly()
        for blob in corrupt {
            print("CORRUPT \(blob.digest): \(blob.problem); moved to \(blob.movedTo)")
        }
        let seconds = progress.elapsed
        let rate = seconds > 0 ? Int64(Double(total) / seconds) : 0
        print("verified \(records.count) blobs, \(ByteSize.format(total)) in \(String(format: "%.1f", seconds)) s "
            + "(\(ByteSize.format(rate))/s): \(corrupt.count) corrupt")
        if !corrupt.isEmpty { throw ExitCode(1) }
    }
}
