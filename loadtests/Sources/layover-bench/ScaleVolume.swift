import Foundation
import LayoverTestSupport

/// Where the scale scenario's stores live: an ext4 image under the temporary directory mounted
/// on a loop device when running as root (so that a million small files are created in a minute
/// and gone in a second whatever the host file system does: on an ext4 mounted with `discard`,
/// deleting them one by one took longer than the whole scenario), else a plain directory.
/// `remove()` unmounts and deletes the image, or the directory with `rm -rf`.
struct ScaleVolume {
    /// The directory the stores go in.
    let path: String
    private let image: String?
    private let base: String

    init(files: Int, bytes: Int64) async throws {
        base = NSTemporaryDirectory() + "layover-scale-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let tools = ["/usr/sbin/mkfs.ext4", "/usr/bin/mount", "/usr/bin/umount"]
        guard geteuid() == 0, tools.allSatisfy(FileManager.default.isExecutableFile(atPath:)) else {
            path = base
            image = nil
            say("# scale: stores in \(path) (not root: no loop-mounted image)")
            return
        }
        let image = base + "/stores.img"
        let mount = base + "/stores"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: image, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: image))
        // Sparse: only what the stores write takes room. A 4 KiB block a file, twice the room.
        try handle.truncate(atOffset: UInt64(max(bytes * 2, Int64(files) * 8192 + (4 << 30))))
        try handle.close()
        // The journal a store's disk of 128 GiB or more gets by default (1 GiB), not the 64 MiB
        // of an image this small: with it, pushes into a million files waited for the journal's
        // checkpoints (renames in `jbd2_log_do_checkpoint`).
        try await Self.run("/usr/sbin/mkfs.ext4", ["-q", "-F", "-N", String(files + files / 2 + 100_000), "-J", "size=1024",
                                                    "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", image])
        try await Self.run("/usr/bin/mount", ["-o", "loop,noatime", image, mount])
        path = mount
        self.image = image
        say("# scale: stores in \(path), an ext4 image on a loop device")
    }

    func remove() async {
        if image != nil { try? await Self.run("/usr/bin/umount", [path]) }
        try? await Self.run("/usr/bin/rm", ["-rf", base])
    }

    private static func run(_ executable: String, _ arguments: [String]) async throws {
        let process = try TestProcess(executable: executable, arguments: arguments)
        guard try await process.waitForExit(timeout: .seconds(3600)) == 0 else {
            throw TestFailure("\(executable) \(arguments.joined(separator: " ")) failed: \(process.output)")
        }
    }
}
