#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin, throwing wrappers over the POSIX calls the store needs.
enum FileSystem {
    /// Creates the missing directories of `path` and fsyncs each new one's parent, so that a
    /// file renamed into the last of them survives power loss along with its directory entries.
    /// `syncParents: false` leaves that to a later `syncFileSystem`.
    static func makeDirectories(_ path: String, syncParents: Bool = true) throws(StoreError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            let parent = current.isEmpty ? "/" : current
            current += "/" + component
            if mkdir(current, 0o755) == 0 {
                if syncParents { syncDirectory(parent) }
            } else if errno != EEXIST {
                throw .io(operation: "mkdir \(current)", errno: errno)
            }
        }
    }

    static func size(of path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    static func remove(_ path: String) {
        unlink(path)
    }

    static func move(_ from: String, _ to: String) throws(StoreError) {
        guard rename(from, to) == 0 else { throw .io(operation: "rename \(from)", errno: errno) }
    }

    /// Creates `path` holding `bytes`; not synced. Throws `.io("create", EEXIST)` when it exists.
    static func write(_ bytes: [UInt8], to path: String) throws(StoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw errno == ENOSPC ? .diskFull : .io(operation: "create", errno: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + offset, $0.count - offset, off_t(offset)) }
            if count < 0 {
                if errno == EINTR { continue }
                let error: StoreError = errno == ENOSPC || errno == EDQUOT ? .diskFull : .io(operation: "write \(path)", errno: errno)
                unlink(path)
                throw error
            }
            offset += count
        }
    }

    /// Makes everything written to the file system holding `path` durable (files, renames, new
    /// directories): one call instead of an fsync per file and directory.
    static func syncFileSystem(of path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw .io(operation: "open \(path)", errno: errno) }
        defer { close(fd) }
        if let syncfs = Self.syncfs {
            guard syncfs(fd) == 0 else { throw .io(operation: "syncfs \(path)", errno: errno) }
        } else {
            sync()
        }
    }

    /// Linux's `syncfs(2)` (one file system), which the C module does not import; nil elsewhere.
    private static let syncfs: (@convention(c) (Int32) -> Int32)? = {
        // RTLD_DEFAULT: the symbol from any library the process has loaded (libc).
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
    }()

    /// Makes a rename inside `directory` durable.
    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// The file's modification time in seconds since 1970; nil when it cannot be read.
    static func modificationTime(_ path: String) -> Double? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }

    /// The names in `directory`, without `.` and `..`; empty when it cannot be read.
    static func list(_ directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The names of the regular files in `directory`; empty when it cannot be read. A file costs
    /// no `fstatat` (no inode read, the bulk of a cold scan) where the file system reports entry
    /// types; where it does not, its type is taken relative to the open directory.
    static func regularFileNames(in directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        let fd = dirfd(handle)
        var found: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            guard name != ".", name != ".." else { continue }
            let type = entry.pointee.d_type
            if type != UInt8(DT_UNKNOWN) {
                if type == UInt8(DT_REG) { found.append(name) }
                continue
            }
            var info = stat()
            guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            found.append(name)
        }
        return found
    }

    /// Bytes available to an unprivileged writer on the file system holding `path`.
    static func availableBytes(at path: String) -> Int64? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }
}
