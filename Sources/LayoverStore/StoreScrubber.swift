import Foundation
import LayoverMetrics
import LayoverWire
import Logging
import LayoverLocks

/// Re-hashes every stored blob while the store serves, one at a time, and quarantines those
/// whose bytes are not their digest (see `BlobStore.scrub`): `layover verify` without the store
/// lock, behind `POST /_layover/verify` and the background scrub (`scrubBytesPerSecond`).
///
/// One pass at a time per scrubber: `start()` while a pass runs joins it. The reports of the
/// last few passes are kept for whoever polls them. Thread safety: every method may be called
/// from any task.
public final class StoreScrubber: Sendable {
    public let store: BlobStore
    /// The rate passes keep to; 0: as fast as the disk and one core go.
    public let bytesPerSecond: Int64
    private let reports = Locked<[ScrubReport]>([])
    private let clock: @Sendable () -> Double
    /// Digests read from the index at a time.
    private let pageSize: Int
    private let logger: Logger
    /// Reports kept, newest last.
    private static let kept = 8

    /// - Parameters:
    ///   - bytesPerSecond: the rate to keep; 0: no pacing.
    ///   - clock: seconds since 1970, for the reports' times.
    ///   - pageSize: digests read from the index at a time.
    public init(store: BlobStore, bytesPerSecond: Int64 = 0, clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                pageSize: Int = 1000, logger: Logger = Logger(label: "layover.scrub")) {
        self.store = store
        self.bytesPerSecond = bytesPerSecond
        self.clock = clock
        self.pageSize = max(1, pageSize)
        self.logger = logger
    }

    /// Starts a pass in the background unless one is running; returns the running pass's report.
    public func start() -> ScrubReport {
        let (report, isNew) = begin()
        if isNew {
            Task { try? await self.run(report.pass) }
        }
        return report
    }

    /// Runs a pass to its end in the calling task (unless one is running: then waits for nothing
    /// and returns that pass's report as it is). Throws `CancellationError` when cancelled
    /// midway; the report then says so.
    @discardableResult
    public func runPass() async throws -> ScrubReport {
        let (report, isNew) = begin()
        guard isNew else { return report }
        return try await run(report.pass)
    }

    /// The report of pass `pass`, or of the latest pass when nil; nil when there is none (yet,
    /// or any more).
    public func report(pass: Int? = nil) -> ScrubReport? {
        reports.withLock { reports in
            guard let pass else { return reports.last }
            return reports.last { $0.pass == pass }
        }
    }

    /// The running pass's report, or a new one (then `true`: the caller runs it).
    private func begin() -> (ScrubReport, Bool) {
        let now = clock()
        return reports.withLock { reports in
            if let last = reports.last, last.running { return (last, false) }
            let report = ScrubReport(pass: (reports.last?.pass ?? 0) + 1, startedAt: now)
            reports.append(report)
            if reports.count > Self.kept { reports.removeFirst(reports.count - Self.kept) }
            return (report, true)
        }
    }

    private func update(_ pass: Int, _ change: (inout ScrubReport) -> Void) {
        reports.withLock { reports in
            guard let index = reports.lastIndex(where: { $0.pass == pass }) else { return }
            change(&reports[index])
        }
    }

    /// Walks the store's table a page of digests at a time (a store of a million blobs is never
    /// copied whole); blobs stored after the pass began are checked when their slot comes after
    /// its cursor.
    private func run(_ pass: Int) async throws -> ScrubReport {
        let usage = store.usage
        update(pass) { report in
            report.blobs = usage.files
            report.bytes = usage.bytes
        }
        logger.info("scrub started", metadata: ["pass": "\(pass)", "blobs": "\(usage.files)", "bytesPerSecond": "\(bytesPerSecond)"])
        var pacer = ScrubPacer(bytesPerSecond: bytesPerSecond)
        var cursor: Int? = 0
        do {
            while let slot = cursor { cursor = try await scrubPage(fromSlot: slot, pass: pass, pacer: &pacer) }
        } catch {
            let why = error is CancellationError ? "cancelled (shutdown)" : "\(error)"
            update(pass) { report in
                report.running = false
                report.finishedAt = clock()
                report.stopped = why
            }
            logger.notice("scrub stopped", metadata: ["pass": "\(pass)", "why": "\(why)"])
            throw error
        }
        let now = clock()
        update(pass) { report in
            report.running = false
            report.finishedAt = now
        }
        let report = self.report(pass: pass)!
        logger.notice("scrub finished", metadata: [
            "pass": "\(pass)", "blobs": "\(report.blobsChecked)", "bytes": "\(report.bytesChecked)",
            "corrupt": "\(report.corrupt.count)", "gone": "\(report.blobsGone)"])
        return report
    }

    /// The page of blobs from slot `start`; returns the slot to go on from, nil past the end.
    private func scrubPage(fromSlot start: Int, pass: Int, pacer: inout ScrubPacer) async throws -> Int? {
        let (page, next) = store.storedDigests(fromSlot: start, limit: pageSize)
        for digest in page {
            try Task.checkCancellation()
            let outcome = try await scrubOne(digest, pass: pass, pacer: &pacer)
            update(pass) { report in
                switch outcome {
                case .intact:
                    report.blobsChecked += 1
                case .corrupt(let problem, let movedTo):
                    report.blobsChecked += 1
                    report.corrupt.append(.init(digest: digest.description, problem: problem, movedTo: movedTo))
                case .gone:
                    report.blobsGone += 1
                }
            }
        }
        return next
    }

    /// One blob, paced.
    private func scrubOne(_ digest: Digest, pass: Int, pacer: inout ScrubPacer) async throws -> ScrubOutcome {
        try await store.scrub(digest) { count in
            update(pass) { $0.bytesChecked += Int64(count) }
            let wait = pacer.delay(after: count, at: .now)
            if wait > .zero {
                try await Task.sleep(for: wait)
            } else {
                // At full speed: let other tasks have this thread between pieces.
                await Task.yield()
            }
        }
    }
}
