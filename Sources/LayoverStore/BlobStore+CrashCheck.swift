import Foundation
import LayoverWire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension BlobStore {
    /// What `checkFilesAfterCrash` found.
    public struct FileCheck: Sendable, Equatable {
        /// Files without a row that hash to their names: recorded and served from now on.
        public var adopted = 0
        /// Files moved to `quarantine/`: without a row and not what their names say, or with a
        /// row but of another size (or gone).
        public var quarantined = 0
    }

    /// Whether the store was opened after a crash and `checkFilesAfterCrash` has not completed,
    /// or the files may disagree with the rows since (an eviction's delete failed): the store is
    /// then not marked cleanly closed, and the next start checks again.
    public var filesUnchecked: Bool { state.withLock { $0.filesUnchecked } }

    /// After an open that followed a crash (which reads the rows and no blob directory, so that a
    /// million blobs start in seconds even with a cold page cache): compares the files with the
    /// rows while the store serves.
    ///
    /// - A file without a row: left by a crash between a commit's rename into place and its row,
    ///   or between an eviction's delete and its unlink (rows go first, files after, so no crash
    ///   of Layover leaves a row without its file). Hashed: when its content is what its name
    ///   says it is adopted (a row is written, its bytes count against the budget, it joins the
    ///   recency list as most recently used), so the crash costs no refetch; otherwise it moves
    ///   to `quarantine/`.
    /// - A row whose file has another size, or is gone: the file was altered outside Layover (a
    ///   file is put in place complete: written, synced, then renamed). Its blob is quarantined,
    ///   so it is not served again and the next pull fetches it anew.
    ///
    /// Safe beside requests: a file is adopted only under the claim commits take (one in flight,
    /// or an eviction in progress, is left to its owner); the store's lock is held for one
    /// directory's or one `step`'s lookups, never for the file system. Stops early when the task
    /// is cancelled; the store is then not marked cleanly closed, and the next start checks again.
    @discardableResult
    public func checkFilesAfterCrash(step: Int = 4096) async -> FileCheck {
        guard filesUnchecked else { return FileCheck() }
        let started = ContinuousClock.now
        var check = FileCheck()
        for directory in blobDirectories() {
            if Task.isCancelled { return check }
            await adoptOrQuarantineUnknownFiles(in: directory, check: &check)
        }
        var next: Int? = 0
        while let start = next {
            if Task.isCancelled { return check }
            let (records, after) = state.withLock { $0.records.records(fromSlot: start, limit: step) }
            next = after
            // Measured on a Dispatch thread: a cold inode read must not hold a cooperative one.
            let layout = layout
            let mismatched = (try? await blocking { records.filter { FileSystem.size(of: layout.blobPath(for: $0.digest)) != $0.size } }) ?? []
            for record in mismatched {
                // Measured again just before: a blob evicted and stored anew meanwhile is whole.
                guard state.withLock({ $0.records[record.digest]?.size == record.size }),
                      FileSystem.size(of: layout.blobPath(for: record.digest)) != record.size else { continue }
                do {
                    let destination = try await quarantine(record.digest)
                    check.quarantined += 1
                    logger.error("stored file has another size than its record: quarantined", metadata: [
                        "digest": "\(record.digest)", "size": "\(record.size)", "quarantine": "\(destination)"])
                } catch {
                    logger.error("cannot quarantine a file of the wrong size", metadata: ["digest": "\(record.digest)", "error": "\(error)"])
                }
            }
            await Task.yield()
        }
        state.withLock { $0.filesUnchecked = false }
        if check.adopted > 0 { await evictIfNeeded() }
        logger.notice("stored files checked after a crash", metadata: [
            "filesAdopted": "\(check.adopted)", "quarantined": "\(check.quarantined)",
            "seconds": "\(String(format: "%.3f", (ContinuousClock.now - started) / .seconds(1)))"])
        return check
    }

    /// Every `blobs/<algorithm>/<prefix>` directory.
    private func blobDirectories() -> [(algorithm: String, prefix: String)] {
        FileSystem.list(layout.blobsDirectory).sorted().flatMap { algorithm in
            FileSystem.list("\(layout.blobsDirectory)/\(algorithm)").sorted().map { (algorithm, $0) }
        }
    }

    /// Reads one blob directory's names (no inode read, on a Dispatch thread) and deals with each file that has no
    /// record: adopted when it hashes to its name, quarantined otherwise. A file whose name is not
    /// a digest is quarantined only when it is older than this run (else a bulk put of this run
    /// may be writing it).
    private func adoptOrQuarantineUnknownFiles(in directory: (algorithm: String, prefix: String), check: inout FileCheck) async {
        let path = "\(layout.blobsDirectory)/\(directory.algorithm)/\(directory.prefix)"
        let names = (try? await blocking { FileSystem.regularFileNames(in: path) }) ?? []
        let named: [(name: String, digest: Digest?)] = names.map { name in
            guard let digest = try? Digest(parsing: "\(directory.algorithm):\(name)"), digest.encoded.hasPrefix(directory.prefix) else {
                return (name, nil)
            }
            return (name, digest)
        }
        // Looked up in slices: the lock is held for 512 lookups at most.
        var unknown: [(name: String, digest: Digest?)] = []
        for start in stride(from: 0, to: named.count, by: 512) {
            let slice = named[start..<min(start + 512, named.count)]
            unknown += state.withLock { state in slice.filter { $0.digest.map { state.records[$0] == nil } ?? true } }
        }
        for (name, digest) in unknown {
            let file = "\(path)/\(name)"
            guard let digest else {
                if let modified = FileSystem.modificationTime(file), modified < openedAt {
                    moveToQuarantine(file, algorithm: directory.algorithm, name: name, problem: "the name is not the digest of its place")
                    check.quarantined += 1
                }
                continue
            }
            // A commit or an eviction of this digest in flight owns the file; a copy stored
            // since is the file.
            guard case .claimed = state.withLock({ $0.claim(digest) }) else { continue }
            let outcome = await adoptUnknownFile(file, digest: digest, algorithm: directory.algorithm, name: name)
            state.withLock { _ = $0.adopting.remove(digest) }
            switch outcome {
            case .adopted: check.adopted += 1
            case .quarantined: check.quarantined += 1
            case .gone: break
            }
        }
    }

    private enum UnknownFileOutcome { case adopted, quarantined, gone }

    /// Hashes the file at `path`, claimed as `digest`: recorded when it is that content, else
    /// quarantined. The caller holds the claim.
    private func adoptUnknownFile(_ path: String, digest: Digest, algorithm: String, name: String) async -> UnknownFileOutcome {
        let problem: String
        let hashed = try? await blocking { () throws(StoreError) in
            Result { () throws(FileHasher.Failure) in try FileHasher(path: path, algorithm: digest.algorithm).hashToEnd() }
        }
        switch hashed {
        case .success(let (actual, size)):
            if actual == digest {
                let record = BlobRecord(digest: digest, size: size, mediaType: nil,
                                        lastAccess: min(FileSystem.modificationTime(path) ?? clock(), clock()))
                let row = state.withLock { $0.records.reserveSlot() }
                do {
                    try await index.insert(record, row: row)
                } catch {
                    state.withLock { $0.records.releaseSlot(row) }
                    logger.error("cannot record a blob file without an index row; it is checked again at the next start",
                                 metadata: ["digest": "\(digest)", "error": "\(error)"])
                    return .gone
                }
                state.withLock { $0.add(record, row: row) }
                logger.info("adopted a blob file without an index row", metadata: ["digest": "\(digest)", "size": "\(size)"])
                return .adopted
            }
            problem = "content hashes to \(actual)"
        case .failure(let error):
            guard FileSystem.size(of: path) != nil else { return .gone }
            problem = "\(error)"
        case nil:
            return .gone
        }
        moveToQuarantine(path, algorithm: algorithm, name: name, problem: problem)
        return .quarantined
    }

    /// Moves a file that is not what its place names to `quarantine/` (removes it when that fails).
    private func moveToQuarantine(_ path: String, algorithm: String, name: String, problem: String) {
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
    }
}
