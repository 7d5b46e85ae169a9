import Foundation
import GRDB

extension BlobStore {
    /// Whether the store can serve: its index answers a query and its directories are writable.
    /// Returns nil when ready, else what is wrong.
    public func readinessProblem() -> String? {
        do {
            _ = try index.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM blob LIMIT 1") }
        } catch {
            return "index unreadable: \(error)"
        }
        for directory in [layout.blobsDirectory, layout.ingestDirectory] where access(directory, W_OK) != 0 {
            return "\(directory) is not writable"
        }
        return nil
    }
}
