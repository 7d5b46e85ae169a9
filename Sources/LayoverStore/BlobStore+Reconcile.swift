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
    /// Makes the store consistent after any crash: no ingest leftovers, no row without its file,
    /// no file without its row (a file of another size than its row is found by `checkSizes`,
    /// once the store serves). Returns the surviving records as the store's state, least
    /// recently used first in its recency list.
    ///
    /// A file under `blobs/` without a row (a crash between its rename into place and its row's
    /// commit) is hashed again: when its content is what its name says it is adopted (a row is
    /// written, its bytes count against the budget, its recency is the file's modification
    /// time), so the crash costs no refetch; otherwise it moves to `quarantine/`. Only such files
    /// are read: a store that was shut down cleanly starts without hashing anything.
    ///
    /// Cost: the rows are read once, in the table's order, straight into the compact table (no
    /// list of every record, no set of every name); each blob directory is read once, names only,
    /// on every core. A million blobs start in seconds and leave no transient memory behind.
    ///
    /// `trustingIndex` (the store was closed cleanly, see `closeCleanly`): the rows are the
    /// files, and no blob directory is read.
    static func reconcile(layout: StoreLayout, index: BlobIndex, trustingIndex: Bool, now: Double,
                          logger: Logger) throws(StoreError) -> StoreState {
        let clock = ContinuousClock()
        let started = clock.now
        for name in FileSystem.list(layout.ingestDirectory) {
            FileSystem.remove(layout.ingestPath(id: name))
        }
        var table = BlobTable()
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
        let rowsRead = clock.now
        let scan = trustingIndex ? FileScan(matched: table.count) : scanFiles(layout: layout, table: table)
        let scanned = clock.now
        // Rows whose file is missing (rare: a crash during an eviction): looked for only in the
        // directories that hold fewer of their rows' files than they have rows.
        var dropped: [(row: Int64, digest: Digest)] = []
        if scan.matched < table.count {
            func directory(_ digest: Digest) -> String { "\(digest.algorithm.rawValue)/\(digest.encoded.prefix(2))" }
            var rows: [String: Int] = [:]
            for (digest, _) in table { rows[directory(digest), default: 0] += 1 }
            let short = Set(rows.filter { $0.value > scan.matchedByDirectory[$0.key, default: 0] }.keys)
            var names: [String: Set<String>] = [:]
            for (digest, _) in table where short.contains(directory(digest)) {
                let key = directory(digest)
                if names[key] == nil {
                    names[key] = Set(FileSystem.regularFileNames(in: "\(layout.blobsDirectory)/\(key)"))
                }
                if names[key]?.contains(digest.encoded) != true, let row = table.rowID(of: digest) { dropped.append((row, digest)) }
            }
        }
        for (_, digest) in dropped {
            if let record = table.removeValue(forKey: digest) { totalBytes -= record.size }
        }
        try index.deleteNow(dropped)
        var adopted: [BlobRecord] = []
        var quarantined = 0
        for (algorithm, prefix, name) in scan.unknown {
            let path = "\(layout.blobsDirectory)/\(algorithm)/\(prefix)/\(name)"
            if let record = recover(path, algorithm: algorithm, name: name, layout: layout, now: now, logger: logger) {
                adopted.append(record)
            } else {
                quarantined += 1
            }
        }
        let rows = adopted.map { _ in table.reserveSlot() }
        try index.insertNow(Array(zip(adopted, rows)))
        for (record, row) in zip(adopted, rows) {
            table.insert(record, at: row)
            totalBytes += record.size
        }
        if !dropped.isEmpty || !adopted.isEmpty || quarantined > 0 {
            logger.notice("store reconciled", metadata: [
                "rowsDropped": "\(dropped.count)", "filesAdopted": "\(adopted.count)", "filesQuarantined": "\(quarantined)"])
        }
        table.listAllByLastAccess()
        func seconds(_ duration: Duration) -> String { String(format: "%.3f", duration / .seconds(1)) }
        logger.notice("store opened", metadata: [
            "blobs": "\(table.count)", "bytes": "\(totalBytes)", "seconds": "\(seconds(clock.now - started))",
            "readingRows": "\(seconds(rowsRead - started))", "scanningFiles": "\(seconds(scanned - rowsRead))",
            "afterCleanShutdown": "\(trustingIndex)"])
        return StoreState(records: table, totalBytes: totalBytes)
    }

    private static let sha256Prefix = Array("sha256:".utf8)

    /// What the blob directories hold against the rows: how many files have a row (in all, and
    /// by `<algorithm>/<prefix>` directory), and the files with none.
    private struct FileScan {
        var matched = 0
        var matchedByDirectory: [String: Int] = [:]
        var unknown: [(String, String, String)] = []
    }

    /// Reads every `blobs/<algorithm>/<prefix>` directory once, on every core, matching file
    /// names with rows. Sizes are not read here: a cold scan of a million files spent most of its
    /// 4 to 13 seconds reading inodes for them, and a file in place was complete when it was put
    /// there (written, synced, then renamed). `checkSizes` compares them once the store serves.
    private static func scanFiles(layout: StoreLayout, table: BlobTable) -> FileScan {
        let directories = FileSystem.list(layout.blobsDirectory).flatMap { algorithm in
            FileSystem.list("\(layout.blobsDirectory)/\(algorithm)").map { (algorithm: algorithm, prefix: $0) }
        }
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, directories.count))
        // Each worker writes only its own element.
        nonisolated(unsafe) let results = UnsafeMutableBufferPointer<FileScan>.allocate(capacity: workers)
        results.initialize(repeating: FileScan())
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var scan = FileScan()
            for index in stride(from: worker, to: directories.count, by: workers) {
                let (algorithm, prefix) = directories[index]
                var matched = 0
                for name in FileSystem.regularFileNames(in: "\(layout.blobsDirectory)/\(algorithm)/\(prefix)") {
                    let stored: Bool
                    if algorithm == "sha256", name.hasPrefix(prefix) {
                        var name = name
                        stored = name.withUTF8 { BlobTable.words(hex: UnsafeRawBufferPointer($0)) }.flatMap { table.size(sha256: $0) } != nil
                    } else if let digest = try? Digest(parsing: "\(algorithm):\(name)"), digest.encoded.hasPrefix(prefix) {
                        stored = table[digest] != nil
                    } else {
                        stored = false
                    }
                    if stored { matched += 1 } else { scan.unknown.append((algorithm, prefix, name)) }
                }
                scan.matched += matched
                scan.matchedByDirectory["\(algorithm)/\(prefix)"] = matched
            }
            results[worker] = scan
        }
        var total = FileScan()
        for scan in results {
            total.matched += scan.matched
            total.matchedByDirectory.merge(scan.matchedByDirectory) { $0 + $1 }
            total.unknown += scan.unknown
        }
        return total
    }

    /// The record of the file at `path` (found as `blobs/<algorithm>/<prefix>/<name>` with no
    /// row) when it hashes to the digest its place names; else nil, the file quarantined.
    /// A file adopted this way has no media type: a manifest among them gets its type back when
    /// it is next stored as one.
    private static func recover(_ path: String, algorithm: String, name: String, layout: StoreLayout,
                                now: Double, logger: Logger) -> BlobRecord? {
        let problem: String
        if let digest = try? Digest(parsing: "\(algorithm):\(name)"), layout.blobPath(for: digest) == path {
            do {
                let (actual, size) = try FileHasher(path: path, algorithm: digest.algorithm).hashToEnd()
                if actual == digest {
                    logger.info("adopted a blob file without an index row", metadata: ["digest": "\(digest)", "size": "\(size)"])
                    return BlobRecord(digest: digest, size: size, mediaType: nil, lastAccess: min(modificationTime(path) ?? now, now))
                }
                problem = "content hashes to \(actual)"
            } catch {
                problem = "\(error)"
            }
        } else {
            problem = "the name is not the digest of its place"
        }
        let destination = layout.quarantinePath(algorithm: algorithm, name: name)
        do throws(StoreError) {
            try FileSystem.makeDirectories(layout.quarantineDirectory)
            try FileSystem.move(path, destination)
            logger.error("quarantined a blob file without an index row", metadata: [
                "path": "\(path)", "problem": "\(problem)", "movedTo": "\(destination)"])
        } catch {
            FileSystem.remove(path)
            logger.error("removed a blob file without an index row", metadata: [
                "path": "\(path)", "problem": "\(problem)", "quarantineFailed": "\(error)"])
        }
        return nil
    }

    /// The file's modification time in seconds since 1970; nil when it cannot be read.
    private static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }
}

extension BlobIndex {
    /// Calls `body` with every blob row (its id, its digest as UTF-8 bytes valid during the call,
    /// size, media type, last access), in id order, one at a time: a cursor, no list of every
    /// row, no string per digest. Used by startup reconciliation only.
    func forEachBlobRow(_ body: (Int64, UnsafeBufferPointer<UInt8>, Int64, String?, Double) -> Void) throws(StoreError) {
        try guarded {
            try pool.read { db in
                let rows = try Row.fetchCursor(db, sql: "SELECT id, digest, size, mediaType, lastAccess FROM blob ORDER BY id")
                while let row = try rows.next() {
                    let id: Int64 = row[0]
                    let size: Int64 = row[2]
                    let mediaType: String? = row[3]
                    let lastAccess: Double = row[4]
                    try row.withUnsafeData(atIndex: 1) { data in
                        data?.withUnsafeBytes { body(id, $0.bindMemory(to: UInt8.self), size, mediaType, lastAccess) }
                    }
                }
            }
        }
    }

    /// Records blobs (each with its slot) synchronously; used by startup reconciliation only.
    func insertNow(_ records: [(record: BlobRecord, row: Int64)]) throws(StoreError) {
        guard !records.isEmpty else { return }
        try guarded {
            try pool.write { db in
                for (record, row) in records { try BlobIndex.writeBlob(db, record, row: row) }
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
