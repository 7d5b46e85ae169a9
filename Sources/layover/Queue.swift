import ArgumentParser
import Foundation
import LayoverPush

/// `layover queue`: the replication queue of a running Layover, as a table or JSON.
struct Queue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List pending, running, retrying and dead-lettered replication jobs of a running Layover.",
        subcommands: [List.self, Retry.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the replication jobs (the default).")

        @OptionGroup var admin: AdminOptions

        func run() async throws {
            guard let body = try await admin.fetch("/_layover/queue") else { return }
            print(QueueTable.render(try JSONDecoder().decode(QueueStatus.self, from: body)))
        }
    }

    /// `layover queue retry ID…|--all`: dead jobs back in the queue once their cause is fixed.
    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put dead-lettered jobs back in the queue.")

        @OptionGroup var admin: AdminOptions
        @Argument(help: "The ids of the dead jobs to retry.") var ids: [Int64] = []
        @Flag(help: "Retry every dead job.") var all = false

        func validate() throws {
            guard all != !ids.isEmpty else { throw ValidationError("name the jobs to retry, or --all (not both)") }
        }

        func run() async throws {
            let query = all ? "all=true" : ids.map { "id=\($0)" }.joined(separator: "&")
            guard let body = try await admin.post("/_layover/queue/retry?\(query)") else { return }
            let status = try JSONDecoder().decode(QueueStatus.self, from: body)
            print(status.jobs.isEmpty ? "no dead job to retry" : "put back in the queue: \(status.jobs.map { "\($0.id)" }.joined(separator: ", "))")
        }
    }
}

/// Renders the queue as aligned columns.
enum QueueTable {
    static func render(_ status: QueueStatus) -> String {
        guard !status.jobs.isEmpty else { return "replication queue is empty" }
        let header = ["ID", "OPERATION", "STATE", "ATTEMPTS", "SENT", "REPOSITORY", "TAG", "DIGEST", "LAST ERROR"]
        let rows = status.jobs.map { job in
            ["\(job.id)", job.operation ?? "push", job.state, "\(job.attempts)", job.bytesSent.map { "\($0)" } ?? "-", "\(job.upstream)/\(job.repository)",
             job.tag ?? "-", String(job.manifest.prefix(19)), job.lastError ?? ""]
        }
        return Columns.render([header] + rows).joined(separator: "\n")
    }
}
