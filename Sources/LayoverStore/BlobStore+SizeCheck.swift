import LayoverWire

extension BlobStore {
    /// Whether the store was opened after a crash and `checkSizes` has not completed yet.
    public var sizesUnchecked: Bool { state.withLock { $0.sizesUnchecked } }

    /// After an open that followed a crash (which reads only the blob directories' names):
    /// compares every stored blob's file size with its record, while the store serves. A file
    /// of another size, or gone, was altered outside Layover (a file is put in place complete:
    /// written, synced, then renamed); its blob is quarantined, so it is not served again and
    /// the next pull fetches it anew. Walks the records in steps of `step`, holding the store's
    /// lock for one step's copy, not for the file system. Stops early when the task is
    /// cancelled; the store is then not marked cleanly closed, and the next start checks again.
    /// Returns the number of blobs quarantined.
    @discardableResult
    public func checkSizes(step: Int = 4096) async -> Int {
        guard sizesUnchecked else { return 0 }
        var quarantined = 0
        var next: Int? = 0
        while let start = next {
            if Task.isCancelled { return quarantined }
            let (records, after) = state.withLock { $0.records.records(fromSlot: start, limit: step) }
            next = after
            for record in records where FileSystem.size(of: layout.blobPath(for: record.digest)) != record.size {
                // Measured again just before: a blob evicted and stored anew meanwhile is whole.
                guard state.withLock({ $0.records[record.digest]?.size == record.size }),
                      FileSystem.size(of: layout.blobPath(for: record.digest)) != record.size else { continue }
                do {
                    let destination = try await quarantine(record.digest)
                    quarantined += 1
                    logger.error("stored file has another size than its record: quarantined", metadata: [
                        "digest": "\(record.digest)", "size": "\(record.size)", "quarantine": "\(destination)"])
                } catch {
                    logger.error("cannot quarantine a file of the wrong size", metadata: ["digest": "\(record.digest)", "error": "\(error)"])
                }
            }
            await Task.yield()
        }
        state.withLock { $0.sizesUnchecked = false }
        logger.notice("stored files' sizes checked after a crash", metadata: ["quarantined": "\(quarantined)"])
        return quarantined
    }
}
