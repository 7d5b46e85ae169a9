import LayoverWire
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension BlobStore {
    /// Makes the store consistent after any crash: no ingest leftovers, no row without its file
    /// (or with a file of another size), no file without its row. Returns the surviving records,
    /// least recently used first.
    ///
    /// A file under `blobs/` without a row (a crash between its rename into place and its row's
    /// commit) is hashed again: when its content is what its name says it is adopted (a row is
    /// written, its bytes count against the budget, its recency is the file's modification
    /// time), so the crash costs no refetch; otherwise it moves to `quarantine/`. Only such files
    /// are read: a store that was shut down cleanly starts without hashing anything.
    static func reconcile(layout: StoreLayout, index: BlobIndex, now: Double, logger: Logger) throws(StoreError) -> [BlobRecord] {
        for name in FileSystem.list(layout.ingestDirectory) {
            FileSystem.remove(layout.ingestPath(id: name))
        }
        var kept: [BlobRecord] = []
        var dropped: [Digest] = []
        for record in try index.allBlobs() {
            if FileSystem.size(of: layout.blobPath(for: record.digest)) == record.size {
                kept.append(record)
            } else {
                dropped.append(record.digest)
            }
        }
        try index.deleteNow(dropped)
        let known = Set(kept.map(\.digest.description))
        var adopted: [BlobRecord] = []
        var quarantined = 0
        for algorithm in FileSystem.list(layout.blobsDirectory) {
            for prefix in FileSystem.list("\(layout.blobsDirectory)/\(algorithm)") {
                let directory = "\(layout.blobsDirectory)/\(algorithm)/\(prefix)"
                for name in FileSystem.list(directory) where !known.contains("\(algorithm):\(name)") {
                    if let record = recover("\(directory)/\(name)", algorithm: algorithm, name: name, layout: layout, now: now, logger: logger) {
                        adopted.append(record)
                    } else {
                        quarantined += 1
                    }
                }
            }
        }
        try index.insertNow(adopted)
        if !dropped.isEmpty || !adopted.isEmpty || quarantined > 0 {
            logger.notice("store reconciled", metadata: [
                "rowsDropped": "\(dropped.count)", "filesAdopted": "\(adopted.count)", "filesQuarantined": "\(quarantined)"])
        }
        guard !adopted.isEmpty else { return kept }
        return (kept + adopted).sorted { $0.lastAccess < $1.lastAccess }
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
    /// Records blobs synchronously; used by startup reconciliation only.
    func insertNow(_ records: [BlobRecord]) throws(StoreError) {
        guard !records.isEmpty else { return }
        try guarded {
            try pool.write { db in
                for record in records {
                    try db.execute(
                        sql: "INSERT OR REPLACE INTO blob (digest, size, mediaType, lastAccess) VALUES (?, ?, ?, ?)",
                        arguments: [record.digest.description, record.size, record.mediaType, record.lastAccess])
                }
            }
        }
    }
}
