import Foundation
import GRDB

extension BlobIndex {
    /// A query that reads the blob table through its key: proves the index answers, in O(log n).
    static let probe = "SELECT 1 FROM blob WHERE id = ?"
}

extension BlobStore {
    /// Whether the store can serve: its index answers a query and its directories are writable.
    /// Returns nil when ready, else what is wrong. Costs the same whatever the store holds (a
    /// count of the blobs took half a second at a million).
    public func readinessProblem() -> String? {
        do {
            _ = try index.pool.read { db in try Int.fetchOne(db, sql: BlobIndex.probe, arguments: [-1]) }
        } catch {
            return "index unreadable: \(error)"
        }
        for directory in [layout.blobsDirectory, layout.ingestDirectory] where access(directory, W_OK) != 0 {
            return "\(directory) is not writable"
        }
        return nil
    }
}
