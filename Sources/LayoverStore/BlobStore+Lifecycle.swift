import LayoverMetrics
import LayoverWire
import Logging

extension BlobStore {
    /// Moves a verified, fsynced ingest file into place and records it.
    /// The reservation is returned in the same step that adds the blob's bytes, so the two are
    /// never counted together. A copy of a digest being evicted waits until the eviction has
    /// removed the old file and row, so that neither removal hits the new copy; and one copy of a
    /// digest is put in place at a time, claimed in the step that finds it absent: a second copy
    /// arriving meanwhile waits and then finds the first, so no eviction of the first can remove
    /// the second's file or row.
    /// With `hold`, the blob is held for that repository's manifest (as `holdForPush` does) in
    /// the same index transaction that records it.
    func adopt(ingestPath: String, digest: Digest, size: Int64, mediaType: String?, reservation: Int64,
               hold: PushHold?) async throws(StoreError) -> BlobRecord {
        claiming: while true {
            switch state.withLock({ $0.claim(digest) }) {
            case .claimed:
                break claiming
            case .stored(let existing):
                FileSystem.remove(ingestPath)
                release(reservation: reservation)
                if let hold { try await holdForPush([digest], in: hold.repository, seconds: hold.seconds) }
                return existing
            case .busy:
                try? await Task.sleep(for: .milliseconds(2))
            case .closing:
                FileSystem.remove(ingestPath)
                release(reservation: reservation)
                throw .closed
            }
        }
        let record = BlobRecord(digest: digest, size: size, mediaType: mediaType, lastAccess: clock())
        let key = hold.map { HoldKey(repository: $0.repository, digest: digest) }
        let until = record.lastAccess + (hold?.seconds ?? 0)
        let directory = layout.blobDirectory(for: digest)
        let row = state.withLock { $0.records.reserveSlot() }
        do {
            try FileSystem.makeDirectories(directory)
            try FileSystem.move(ingestPath, layout.blobPath(for: digest))
            FileSystem.syncDirectory(directory)
            if let key {
                try await index.insert(record, row: row, holding: key, until: until)
            } else {
                try await index.insert(record, row: row)
            }
        } catch {
            FileSystem.remove(ingestPath)
            FileSystem.remove(layout.blobPath(for: digest))
            state.withLock { state in
                state.adopting.remove(digest)
                state.records.releaseSlot(row)
            }
            release(reservation: reservation)
            throw error
        }
        state.withLock { state in
            state.add(record, row: row)
            if let key {
                state.hold(key, until: until)
                state.rememberLink(.init(repository: key.repository, digest: digest))
            }
            state.adopting.remove(digest)
            state.reservedBytes -= reservation
        }
        if let key { clearTombstones(key.repository, [digest.description]) }
        await evictIfNeeded(sparing: digest)
        return record
    }

    /// Writes recency kept in memory to the index, so a restart keeps the LRU order.
    public func flushRecency() async {
        let (dirty, rows) = state.withLock { state in
            defer { state.dirtyRecency = [:] }
            let rows = state.dirtyRecency.compactMap { digest, time in
                state.records.rowID(of: digest).map { (row: $0, time: time) }
            }
            return (state.dirtyRecency, rows)
        }
        do {
            try await index.updateRecency(rows)
        } catch {
            logger.error("recency flush failed", metadata: ["error": "\(error)"])
            state.withLock { state in state.dirtyRecency.merge(dirty) { max($0, $1) } }
        }
    }

    /// Evicts unprotected blobs, orphans first (oldest orphaned first), then least recently used, while stored plus reserved bytes (plus
    /// `extra` bytes wanted) are above the high watermark, down to the low watermark.
    /// `sparing` names a blob just committed, which its caller is about to use.
    /// Costs O(1) when nothing needs evicting and O(victims + open blobs passed over) otherwise.
    public func evictIfNeeded(extra: Int64 = 0, sparing: Digest? = nil) async {
        let now = clock()
        let (victims, rows, orphans): ([BlobRecord], [(row: Int64, digest: Digest)], (count: Int, bytes: Int64)) = state.withLock { state in
            guard !state.closing else { return ([], [], (0, 0)) }
            state.expireHolds(now: now)
            let used = state.totalBytes + state.reservedBytes + extra
            guard used > budget.highWatermark || extra > 0 else { return ([], [], (0, 0)) }
            let target = extra > 0 ? used - extra : budget.lowWatermark
            guard used > target else { return ([], [], (0, 0)) }
            let chosen = state.victims(excess: used - target, sparing: sparing)
            var orphans = (count: 0, bytes: Int64(0))
            var rows: [(row: Int64, digest: Digest)] = []
            for record in chosen {
                if state.records.isOrphan(record.digest) { orphans = (orphans.count + 1, orphans.bytes + record.size) }
                if let row = state.records.rowID(of: record.digest) { rows.append((row, record.digest)) }
                state.remove(record.digest)
                state.evicting.insert(record.digest)
            }
            return (chosen, rows, orphans)
        }
        guard !victims.isEmpty else { return }
        // Rows first, files after: a crash between leaves files without rows, which the check
        // after it adopts again; never a row without its file.
        do {
            try await index.delete(rows)
        } catch {
            logger.error("eviction index update failed; the next start checks the files", metadata: ["error": "\(error)"])
            state.withLock { $0.filesUnchecked = true }
        }
        for record in victims { FileSystem.remove(layout.blobPath(for: record.digest)) }
        state.withLock { state in for record in victims { state.evicting.remove(record.digest) } }
        let bytes = victims.reduce(0) { $0 + $1.size }
        Telemetry.evicted(blobs: victims.count, bytes: bytes, orphans: orphans.count, orphanBytes: orphans.bytes)
        logger.info("evicted", metadata: ["blobs": "\(victims.count)", "bytes": "\(bytes)", "orphans": "\(orphans.count)"])
    }
}
