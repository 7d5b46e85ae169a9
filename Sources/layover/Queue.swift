import ArgumentParser
import AsyncHTTPClient
import Foundation
import LayoverPush
import NIOCore

/// `layover queue`: the replication queue of a running Layover, as a table or JSON.
struct Queue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List pending, retrying and dead-lettered replication jobs of a running Layover.")

    @Option(help: "The Layover to ask.")
    var server = "http://127.0.0.1:5000"

    @Flag(help: "Print the admin endpoint's JSON as it is.")
    var json = false

    func run() async throws {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let body: ByteBuffer
        do {
            let response = try await http.execute(HTTPClientRequest(url: "\(server)/_layover/queue"), timeout: .seconds(10))
            body = try await response.body.collect(upTo: 64 << 20)
            guard response.status == .ok else {
                try? await http.shutdown()
                throw ValidationError("\(server) answered \(response.status.code): \(String(buffer: body))")
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        if json {
            print(String(buffer: body))
            return
        }
        let status = try JSONDecoder().decode(QueueStatus.self, from: Data(body.readableBytesView))
        print(QueueTable.render(status))
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
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
