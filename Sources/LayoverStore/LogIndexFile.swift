import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The write-ahead log's index (`index.sqlite-shm`), read beside SQLite, which holds POSIX
/// advisory locks on it.
///
/// Closing any descriptor of a file drops every such lock the process holds on it: opening and
/// closing the file on each read would silently release SQLite's, and another process (an
/// operator's `sqlite3`) could then take the log for abandoned and reset it under the store.
/// So the file is opened on the first read that finds it and kept open until `close`, which
/// comes after every connection is closed.
final class LogIndexFile: Sendable {
    private let path: String
    private enum Descriptor { case notYetOpen, open(Int32), closed }
    private let descriptor = Mutex(Descriptor.notYetOpen)

    init(path: String) {
        self.path = path
    }

    /// The log's state; nil when the file does not exist yet, is short, or was closed.
    func read() -> IndexCheckpointer.LogState? {
        descriptor.withLock { descriptor in
            if case .notYetOpen = descriptor {
                let fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { return nil }
                descriptor = .open(fd)
            }
            guard case .open(let fd) = descriptor else { return nil }
            return IndexCheckpointer.LogState.read(descriptor: fd)
        }
    }

    /// Closes the file for good: later reads answer nil.
    func close() {
        descriptor.withLock { descriptor in
            if case .open(let fd) = descriptor { _ = Glibc.close(fd) }
            descriptor = .closed
        }
    }

    deinit {
        close()
    }
}
