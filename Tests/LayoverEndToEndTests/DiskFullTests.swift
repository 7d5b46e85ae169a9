import Foundation
import LayoverTestSupport
import Testing

/// A store on a small tmpfs: when the disk has no room, misses are streamed through uncached,
/// verified, and the store stays consistent.
@Suite("Disk full", .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
struct DiskFullTests {
    @Test("a blob larger than the free disk is served through uncached; one that fits is stored")
    func servesThroughWhenFull() async throws {
        let registry = try await UpstreamRegistry()
        defer { registry.stop() }
        let mountPoint = try TemporaryDirectory()
        defer { mountPoint.remove() }
        let mount = try TestProcess(executable: "/bin/mount", arguments: ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint.path])
        #expect(try await mount.waitForExit() == 0, "\(mount.output)")
        defer {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = ["-l", mountPoint.path]
            try? umount.run()
            umount.waitUntilExit()
        }

        let layover = try await LayoverProcess(upstreamURL: registry.url, storage: mountPoint.path + "/store",
                                               extraArguments: ["--max-bytes", "1GiB"])
        defer { layover.stop(signal: SIGKILL) }
        let seeder = Seeder(registry: registry.url)
        let large = randomBytes(24 << 20)
        let largeDigest = try await seeder.pushBlob("team/app", large)
        let small = randomBytes(1 << 20)
        let smallDigest = try await seeder.pushBlob("team/app", small)
        let base = "\(layover.url)/v2/up/team/app/blobs"

        let through = try await TestHTTP.shared.streamedDigest("\(base)/\(largeDigest)")
        #expect(through.status == 200)
        #expect(through.count == large.count)
        #expect(through.digest == largeDigest)
        let stored = try await TestHTTP.shared.get("\(base)/\(smallDigest)")
        #expect(stored.body == small)

        let blobs = try FileManager.default.subpathsOfDirectory(atPath: mountPoint.path + "/store/blobs")
        #expect(blobs.contains { $0.hasSuffix(String(smallDigest.dropFirst(7))) })
        #expect(!blobs.contains { $0.hasSuffix(String(largeDigest.dropFirst(7))) })
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint.path + "/store/ingest").isEmpty)
    }
}
