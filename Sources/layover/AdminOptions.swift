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
        printed(try await AdminClient.get(path, from: server))
    }

    /// Posts to `path` (an admin action); the answer as `fetch` gives it.
    func post(_ path: String) async throws -> Data? {
        printed(try await AdminClient.get(path, from: server, method: .POST))
    }

    private func printed(_ body: Data) -> Data? {
        if json {
            print(String(decoding: body, as: UTF8.self))
            return nil
        }
        return body
    }
}
