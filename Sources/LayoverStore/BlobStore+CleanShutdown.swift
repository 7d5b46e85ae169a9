import Foundation
import LayoverWire
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension BlobStore {
    /// Closes the store once its users have stopped (the front drained, replication and the
    /// scrub stopped): no copy is put in place and nothing is evicted from now on; commits and
    /// evictions in progress are waited for (up to `timeout`), recency is written, everything is
    /// made durable, and a mark is left that lets the next open trust the index instead of
    /// comparing every blob directory and file with it (`checkFilesAfterCrash`). A store closed
    /// any other way (a crash, `close`, a timeout here) is checked in full after its next open.
    /// This instance must not be used afterwards.
    public func closeCleanly(timeout: Duration = .seconds(10)) async {
        state.withLock { $0.closing = true }
        let deadline = ContinuousClock.now + timeout
        var quiet = false
        while !quiet, ContinuousClock.now < deadline {
            quiet = state.withLock { $0.adopting.isEmpty && $0.evicting.isEmpty }
            if !quiet { try? await Task.sleep(for: .milliseconds(2)) }
        }
        await flushRecency()
        if state.withLock({ $0.filesUnchecked }) {
            logger.warning("store closed before its files were checked against its rows; the next start checks them")
        } else if quiet, state.withLock({ $0.dirtyRecency.isEmpty }) {
            do throws(StoreError) {
                try FileSystem.syncFileSystem(of: layout.root)
                try FileSystem.write([], to: layout.cleanShutdownPath)
                FileSystem.syncDirectory(layout.root)
            } catch {
                logger.warning("cannot mark the store as cleanly closed; the next start checks every file",
                               metadata: ["error": "\(error)"])
            }
        } else {
            logger.warning("store closed while still busy; the next start checks every file")
        }
        close()
    }

    /// Whether the store was closed cleanly. Removes the mark, durably, before anything changes,
    /// so that a crash of this run is never taken for a clean close.
    static func takeCleanShutdownMark(_ layout: StoreLayout) -> Bool {
        guard unlink(layout.cleanShutdownPath) == 0 else { return false }
        FileSystem.syncDirectory(layout.root)
        return true
    }
}
