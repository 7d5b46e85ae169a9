import ArgumentParser
import Foundation

/// The options `status` and `queue` share: which running Layover to ask, and raw JSON or a table.
struct AdminOptions: ParsableArguments {
    @Option(help: "The Layover to ask.")
    var server = "http://127.0.0.1:5000"

    @Flag(help: "Print the admin endpoint's JSON as it is.")
    var json = false

    /// Fetches `path`; prints the JSON as it is with `--json` (returning nil), else returns it for rendering.
    func fetch(_ path: String) async throws -> Data? {
        let body = try await AdminClient.get(path, from: server)
        if json {
            print(String(decoding: body, as: UTF8.self))
            return nil
        }
        return body
    }
}
