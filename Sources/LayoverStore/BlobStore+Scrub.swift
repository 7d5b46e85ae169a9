import GRDB
import LayoverMetrics
import LayoverWire

/// What re-hashing one stored blob found.
public enum ScrubOutcome: Sendable, Equatable {
    /// Its bytes are its digest.
    case intact
    /// Its bytes are not its digest (or could not be read): it was quarantined, its file moved
    /// to `movedTo` (nil when the move failed; its record and row are gone all the same).
    case corrupt(problem: String, movedTo: String?)
    /// Not stored (any more): evicted or quarantined before its turn.
    case gone
}

extension BlobStore {
    /// Re-hashes a stored blob while the store serves; a blob whose bytes are not its digest is
    /// quarantined at once (file to `quarantine/`, record and row dropped), so it is never served
    /// again and the next pull fetches it anew.
    ///
    /// The blob is leased while it is read, so no eviction removes it mid-hash, but the lease
    /// does not count as a use: a scrub must not reorder the LRU. `pace` is called after each
    /// piece read (up to 1 MiB) with its length; it may wait, and its error (cancellation) ends
    /// the check with nothing changed: nothing else is thrown.
    public func scrub(_ digest: Digest, pace: (Int) async throws -> Void = { _ in }) async throws -> ScrubOutcome {
        guard let lease = leaseWithoutUse(digest) else { return .gone }
        defer { lease.release() }
        let problem: String?
        do {
            let hasher = try FileHasher(path: lease.path, algorithm: digest.algorithm)
            while case let count = try hasher.step(), count > 0 {
                Telemetry.scrubbed(bytes: count)
                try await pace(count)
            }
            problem = Self.problem(lease.record, actual: hasher.finalize(), size: hasher.bytesRead)
        } catch let failure as FileHasher.Failure {
            problem = failure.description
        }
        guard let problem else { return .intact }
        Telemetry.quarantined()
        do {
            let movedTo = try await quarantine(digest)
            logger.error("scrub quarantined a corrupt blob", metadata: [
                "digest": "\(digest)", "problem": "\(problem)", "movedTo": "\(movedTo)"])
            return .corrupt(problem: problem, movedTo: movedTo)
        } catch {
            logger.error("scrub took a corrupt blob out of service but could not move its file", metadata: [
                "digest": "\(digest)", "problem": "\(problem)", "error": "\(error)"])
            return .corrupt(problem: problem, movedTo: nil)
        }
    }

    /// Up to `limit` stored digests from slot `start` of the store's table on, and the slot to
    /// go on from (nil at the end): a scrub walks the store a page at a time instead of copying
    /// every record, and reads no index.
    func storedDigests(fromSlot start: Int, limit: Int) -> (digests: [Digest], next: Int?) {
        let (records, next) = state.withLock { $0.records.records(fromSlot: start, limit: limit) }
        return (records.map(\.digest), next)
    }

    /// A lease that leaves the blob's recency alone; nil when it is not stored.
    func leaseWithoutUse(_ digest: Digest) -> BlobLease? {
        let record = state.withLock { state -> BlobRecord? in
            guard let record = state.records[digest] else { return nil }
            state.leases[digest, default: 0] += 1
            return record
        }
        guard let record else { return nil }
        return BlobLease(record: record, layout: layout) { [weak self] digest in
            self?.state.withLock { $0.releaseLease(digest) }
        }
    }
}
