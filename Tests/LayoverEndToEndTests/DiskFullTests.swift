import Foundation
import LayoverTestSupport
import Testing

/// A store on a small tmpfs: when the disk has no room, misses are streamed through uncached,
/// verified, and the store stays consistent.
@Suite("Disk full", .endToEnd, .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
struct DiskFullTests {
    @Test("a blob larger than the free disk is served through uncached; one that fits is stored")
    func servesThroughWhenFull() async throws {
        let registry = try await UpstreamRegistry()
        defer { registry.stop() }
        let mountPoint = try await SmallDisk(megabytes: 16)
        defer { mountPoint.remove() }

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

    @Test("the disk fills up mid-download: readers are cut short, never given a short body as complete; nothing half-stored; the next pull works")
    func diskFillsMidDownload() async throws {
        let registry = try await UpstreamRegistry()
        defer { registry.stop() }
        // 40 Mbit/s: the 10 MiB blob takes about 2 s, time to fill the disk under it.
        let link = try await Relay(upstreamPort: registry.port, shape: .megabits(40))
        defer { link.close() }
        let mountPoint = try await SmallDisk(megabytes: 16)
        defer { mountPoint.remove() }
        let layover = try await LayoverProcess(upstreamURL: link.url, storage: mountPoint.path + "/store",
                                               extraArguments: ["--max-bytes", "1GiB"])
        defer { layover.stop(signal: SIGKILL) }
        let size = 10 << 20
        let blob = randomBytes(size)
        let digest = try await Seeder(registry: registry.url).pushBlob("team/app", blob)
        let url = "\(layover.url)/v2/up/team/app/blobs/\(digest)"
        let ingest = mountPoint.path + "/store/ingest"

        let readers = (0..<2).map { _ in Task { try? await TestHTTP.shared.streamedDigest(url) } }
        // Once the download is under way, something else takes the rest of the disk.
        try await eventually(timeout: .seconds(20)) {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: ingest)) ?? []
            return files.contains { name in
                let attributes = try? FileManager.default.attributesOfItem(atPath: "\(ingest)/\(name)")
                return (attributes?[.size] as? Int ?? 0) >= 1 << 20
            }
        }
        let filler = mountPoint.path + "/filler"
        let fill = try TestProcess(executable: "/bin/dd", arguments: ["if=/dev/zero", "of=\(filler)", "bs=1M", "count=64"])
        _ = try await fill.waitForExit()
        for reader in readers {
            guard let answer = await reader.value else { continue }  // cut: the transfer failed
            #expect(answer.status == 200)
            #expect(answer.count < size || answer.digest == digest, "a complete body is the verified blob")
        }
        try await eventually(timeout: .seconds(20)) { ((try? FileManager.default.contentsOfDirectory(atPath: ingest)) ?? []).isEmpty }
        let blobs = (try? FileManager.default.subpathsOfDirectory(atPath: mountPoint.path + "/store/blobs")) ?? []
        #expect(!blobs.contains { $0.hasSuffix(String(digest.dropFirst(7))) }, "nothing half-stored")

        try FileManager.default.removeItem(atPath: filler)
        let again = try await TestHTTP.shared.streamedDigest(url)
        #expect(again.status == 200 && again.count == size && again.digest == digest)
        try await eventually { ((try? FileManager.default.subpathsOfDirectory(atPath: mountPoint.path + "/store/blobs")) ?? []).contains { $0.hasSuffix(String(digest.dropFirst(7))) } }
    }
}

/// A tmpfs of a few megabytes mounted on a fresh directory: a disk that fills up.
struct SmallDisk {
    let path: String
    private let directory: TemporaryDirectory

    init(megabytes: Int) async throws {
        directory = try TemporaryDirectory()
        path = directory.path
        let mount = try TestProcess(executable: "/bin/mount", arguments: ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path])
        guard try await mount.waitForExit() == 0 else { throw TestFailure("mount: \(mount.output)") }
    }

    /// Unmounts (lazily) and removes the directory.
    func remove() {
        let umount = Process()
        umount.executableURL = URL(fileURLWithPath: "/bin/umount")
        umount.arguments = ["-l", path]
        try? umount.run()
        umount.waitUntilExit()
        directory.remove()
    }
}
