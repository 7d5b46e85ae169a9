import Foundation
import GRDB
import LayoverWire
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension BlobStore {
    /// Loads the store's state from its index: ingest leftovers are removed, rows the table
    /// cannot take (a digest twice, a crash before an eviction's delete; or not a digest) are
    /// dropped, and the surviving records become the state, least recently used first in its
    /// recency list.
    ///
    /// No blob directory is read here, after a crash either: rows go before files (a commit
    /// renames its file into place, then writes its row; an eviction deletes its rows, then
    /// unlinks the files), so a crash leaves at most files without rows, which
    /// `checkFilesAfterCrash` adopts or quarantines once the store serves.
    ///
    /// Cost: the rows are read once, in the table's order, straight into the compact table (no
    /// list of every record, no set of every name). A million blobs start in seconds and leave
    /// no transient memory behind.
    static func reconcile(layout: StoreLayout, index: BlobIndex, afterCleanShutdown: Bool,
                          logger: Logger) throws(StoreError) -> StoreState {
        let clock = ContinuousClock()
        let started = clock.now
        for name in FileSystem.list(layout.ingestDirectory) {
            FileSystem.remove(layout.ingestPath(id: name))
        }
        // Sized before the rows come in, so the slot array is never copied while they load, nor
        // by the first blobs stored after (a quarter more slots reserved).
        let rows = try index.blobSlotCount()
        var table = BlobTable(capacity: rows, slots: rows + rows / 4)
        var totalBytes: Int64 = 0
        // Rows the table cannot take: a digest twice (a crash before an eviction's delete, the
        // blob stored again in another slot) or not a digest.
        var refused: [Int64] = []
        try index.forEachBlobRow { row, text, size, mediaType, lastAccess in
            // "sha256:" and 64 hex digits, the common case, go in without a string; the rest parsed.
            let loaded = if text.count == 71, text.starts(with: Self.sha256Prefix),
                            let words = BlobTable.words(hex: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: text[7...]))) {
                table.insertLoaded(sha256: words, size: size, mediaType: mediaType, lastAccess: lastAccess, slot: row)
            } else if let digest = try? Digest(parsing: String(decoding: text, as: UTF8.self)) {
                table.insertLoaded(BlobRecord(digest: digest, size: size, mediaType: mediaType, lastAccess: lastAccess), slot: row)
            } else {
                false
            }
            if loaded { totalBytes += size } else { refused.append(row) }
        }
        try index.deleteRowsNow(refused)
        if !refused.isEmpty { logger.notice("store reconciled", metadata: ["rowsDropped": "\(refused.count)"]) }
        table.listAllByLastAccess()
        logger.notice("store opened", metadata: [
            "blobs": "\(table.count)", "bytes": "\(totalBytes)",
            "seconds": "\(String(format: "%.3f", (clock.now - started) / .seconds(1)))",
            "afterCleanShutdown": "\(afterCleanShutdown)"])
        return StoreState(records: table, totalBytes: totalBytes)
    }

    private static let sha256Prefix = Array("sha256:".utf8)
}

extension BlobIndex {
    /// One more than the highest blob row id (the slots the rows need); 0 for none. One B-tree
    /// descent.
    func blobSlotCount() throws(StoreError) -> Int {
        try guarded {
            try pool.read { db in try Int.fetchOne(db, sql: Self.highestBlobRow).map { $0 + 1 } ?? 0 }
        }
    }

    static let highestBlobRow = "SELECT MAX(id) FROM blob"

    /// Calls `body` with every blob row (its id, its digest as UTF-8 bytes valid during the call,
    /// size, media type, last access: the later of `blob`'s and `access`'s), in id order, one at
    /// a time: a cursor, no list of every row, no string per digest. Used by startup
    /// reconciliation (and `allBlobs`).
    func forEachBlobRow(_ body: (Int64, UnsafeBufferPointer<UInt8>, Int64, String?, Double) -> Void) throws(StoreError) {
        try guarded {
            try pool.read { db in
                // Both tables in id order, merged: one pass over each, no lookup per row.
                let rows = try Row.fetchCursor(db, sql: "SELECT id, digest, size, mediaType, lastAccess FROM blob ORDER BY id")
                let accesses = try Row.fetchCursor(db, sql: "SELECT id, lastAccess FROM access ORDER BY id")
                let nextAccess = { () throws -> (id: Int64, time: Double)? in try accesses.next().map { ($0[0], $0[1]) } }
                var access = try nextAccess()
                while let row = try rows.next() {
                    let id: Int64 = row[0]
                    let size: Int64 = row[2]
                    let mediaType: String? = row[3]
                    var lastAccess: Double = row[4]
                    while let earlier = access, earlier.id < id { access = try nextAccess() }
                    if let access, access.id == id { lastAccess = max(lastAccess, access.time) }
                    try row.withUnsafeData(atIndex: 1) { data in
                        data?.withUnsafeBytes { body(id, $0.bindMemory(to: UInt8.self), size, mediaType, lastAccess) }
                    }
                }
            }
        }
    }

    /// Drops rows by id alone, with their links (rows the store's table refused when it opened:
    /// nothing lives in those slots); used by startup reconciliation only.
    func deleteRowsNow(_ rows: [Int64]) throws(StoreError) {
        guard !rows.isEmpty else { return }
        try guarded {
            try pool.write { db in
                for row in rows {
                    try db.execute(sql: "DELETE FROM blob WHERE id = ?", arguments: [row])
                    try db.execute(sql: "DELETE FROM repositoryLink WHERE blob = ?", arguments: [row])
                }
            }
        }
    }
}
