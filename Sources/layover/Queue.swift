import ArgumentParser
import Foundation
import LayoverPush

/// `layover queue`: the replication queue of a running Layover, as a table or JSON.
struct Queue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List pending, retrying and dead-lettered replication jobs of a running Layover.")

    @OptionGroup var admin: AdminOptions

    func run() async throws {
        guard let body = try await admin.fetch("/_layover/queue") else { return }
        print(QueueTable.render(try JSONDecoder().decode(QueueStatus.self, from: body)))
    }
}

/// Renders the queue as aligned columns.
enum QueueTable {
    static func render(_ status: QueueStatus) -> String {
        guard !status.jobs.isEmpty else { return "replication queue is empty" }
        let header = ["ID", "STATE", "ATTEMPTS", "REPOSITORY", "TAG", "MANIFEST", "LAST ERROR"]
        let rows = status.jobs.map { job in
            ["\(job.id)", job.state, "\(job.attempts)", "\(job.upstream)/\(job.repository)", job.tag ?? "-",
             String(job.manifest.prefix(19)), job.lastError ?? ""]
        }
        return Columns.render([header] + rows).joined(separator: "\n")
    }
}
