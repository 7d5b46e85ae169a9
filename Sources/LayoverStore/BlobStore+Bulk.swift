import Foundation
import LayoverWire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension BlobStore {
    /// Small content held in memory, to be stored in bulk.
    public struct BulkItem: Sendable {
        public var bytes: [UInt8]
        /// Set for a manifest, so it can be served as one.
        public var mediaType: String?
        /// A repository known to hold the content (linked in the same transaction), if any.
        public var repository: RepositoryKey?

        public init(bytes: [UInt8], mediaType: String? = nil, repository: RepositoryKey? = nil) {
            self.bytes = bytes
            self.mediaType = mediaType
            self.repository = repository
        }
    }

    /// Stores many small blobs held in memory at once (seeding a store, a benchmark): each is
    /// hashed here and written straight to its place under `blobs/` (on every core); one
    /// file-system sync then makes every file and directory entry durable, and one index
    /// transaction records them all and links them to their repositories. Only then are they
    /// visible, and served like any other blob. Content already stored keeps its record.
    /// Returns the records, in the order of `items`.
    ///
    /// Durability and visibility: as `put`'s, with one sync per call instead of three per blob.
    /// A file without its row is never read (what is stored is what has a record), and rows are
    /// written only after the sync, so a crash leaves at most files without rows, which the next
    /// start reconciles like any other.
    public func putMany(_ items: [BulkItem]) async throws(StoreError) -> [BlobRecord] {
        let now = clock()
        let written = try await blocking { () throws(StoreError) in try self.writeFiles(items, lastAccess: now) }
        let fresh = written.filter(\.fresh).map(\.record)
        let rows = state.withLock { state in fresh.map { _ in state.records.reserveSlot() } }
        do {
            try await blocking { () throws(StoreError) in try FileSystem.syncFileSystem(of: self.layout.blobsDirectory) }
            var slots = Dictionary(uniqueKeysWithValues: zip(fresh.map(\.digest), rows))
            let stored = state.withLock { state in written.compactMap { written in state.records.rowID(of: written.record.digest).map { (written.record.digest, $0) } } }
            for (digest, row) in stored { slots[digest] = row }
            let links = zip(items, written).compactMap { item, written in
                item.repository.flatMap { key in slots[written.record.digest].map { (key: key, digest: written.record.digest, row: $0) } }
            }
            try await index.insert(Array(zip(fresh, rows)), links: links)
        } catch {
            for record in fresh { FileSystem.remove(layout.blobPath(for: record.digest)) }
            state.withLock { state in
                for record in fresh { state.adopting.remove(record.digest) }
                for row in rows { state.records.releaseSlot(row) }
            }
            throw error
        }
        state.withLock { state in
            for (record, row) in zip(fresh, rows) {
                state.add(record, row: row)
                state.adopting.remove(record.digest)
            }
        }
        await evictIfNeeded()
        return written.map(\.record)
    }

    /// Hashes and writes `items` on every core; returns each one's record and whether it is new
    /// (then claimed in `adopting` until its row and record exist). The same content twice is
    /// written once. On failure nothing new is left: no file, no claim.
    private func writeFiles(_ items: [BulkItem], lastAccess: Double) throws(StoreError) -> [(record: BlobRecord, fresh: Bool)] {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, items.count))
        // Each worker writes only its own positions of these buffers.
        nonisolated(unsafe) let digests = UnsafeMutableBufferPointer<Digest?>.allocate(capacity: items.count)
        nonisolated(unsafe) let results = UnsafeMutableBufferPointer<Result<(record: BlobRecord, fresh: Bool), StoreError>?>.allocate(capacity: items.count)
        digests.initialize(repeating: nil)
        results.initialize(repeating: nil)
        defer {
            digests.deallocate()
            results.deallocate()
        }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for position in stride(from: worker, to: items.count, by: workers) { digests[position] = Digest.sha256(of: items[position].bytes) }
        }
        var first: [Digest: Int] = [:]
        for position in 0..<items.count where first[digests[position]!] == nil { first[digests[position]!] = position }
        let unique = (0..<items.count).filter { first[digests[$0]!] == $0 }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var made = Set<String>()
            for index in stride(from: worker, to: unique.count, by: workers) {
                let position = unique[index]
                results[position] = Result { () throws(StoreError) in
                    try self.writeFile(items[position], digest: digests[position]!, lastAccess: lastAccess, made: &made)
                }
            }
        }
        var written: [(record: BlobRecord, fresh: Bool)] = []
        var failure: StoreError?
        for position in 0..<items.count {
            switch results[first[digests[position]!]!]! {
            case .success(let item): written.append(first[item.record.digest] == position ? item : (item.record, false))
            case .failure(let error): failure = failure ?? error
            }
        }
        if let failure {
            let fresh = unique.compactMap { position -> Digest? in
                if case .success(let item) = results[position]!, item.fresh { return item.record.digest }
                return nil
            }
            for digest in fresh { FileSystem.remove(layout.blobPath(for: digest)) }
            state.withLock { state in for digest in fresh { state.adopting.remove(digest) } }
            throw failure
        }
        return written
    }

    /// Writes one item in place unless it is stored; claims its digest as `adopt` does, so that
    /// no other copy and no eviction of it interleave with this one.
    private func writeFile(_ item: BulkItem, digest: Digest, lastAccess: Double, made: inout Set<String>) throws(StoreError) -> (record: BlobRecord, fresh: Bool) {
        claiming: while true {
            switch state.withLock({ $0.claim(digest) }) {
            case .claimed: break claiming
            case .stored(let existing): return (existing, false)
            case .busy: usleep(2000)
            case .closing: throw .closed
            }
        }
        let directory = layout.blobDirectory(for: digest)
        let path = layout.blobPath(for: digest)
        do {
            if made.insert(directory).inserted { try FileSystem.makeDirectories(directory, syncParents: false) }
            do {
                try FileSystem.write(item.bytes, to: path)
            } catch .io(_, EEXIST) {
                // A file left without its row (a crash since the last start): replaced whole at once.
                let temporary = "\(path).\(UUID().uuidString)"
                try FileSystem.write(item.bytes, to: temporary)
                try FileSystem.move(temporary, path)
            }
        } catch {
            state.withLock { _ = $0.adopting.remove(digest) }
            throw error
        }
        return (BlobRecord(digest: digest, size: Int64(item.bytes.count), mediaType: item.mediaType, lastAccess: lastAccess), true)
    }
}
