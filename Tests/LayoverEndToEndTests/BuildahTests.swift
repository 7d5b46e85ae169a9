import Foundation
import LayoverTestSupport
import Testing

/// A real build tool's cache round trip through Layover: buildah pushes a layer cache per step,
/// then a wiped buildah rebuilds with every step taken from that cache.
@Suite("buildah cache round trip", .endToEnd, .enabled(if: getuid() == 0, "buildah with vfs storage and chroot isolation runs as root"))
struct BuildahTests {
    static func buildah(_ arguments: [String], storage: String) async throws -> String {
        let process = try TestProcess(executable: "/usr/bin/buildah", arguments: [
            "--storage-driver", "vfs", "--root", storage + "/root", "--runroot", storage + "/runroot",
        ] + arguments)
        let status = try await process.waitForExit(timeout: .seconds(300))
        guard status == 0 else { throw TestFailure("buildah \(arguments.first ?? "") failed: \(process.output)") }
        return process.output
    }

    @Test("buildah --layers --cache-to/--cache-from through Layover: a wiped builder reuses every step")
    func cacheRoundTrip() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/buildah") else {
            throw TestFailure("buildah is not installed: apt-get install buildah")
        }
        let fixture = try await Fixture()
        defer { fixture.shutdown() }
        let context = try TemporaryDirectory()
        defer { context.remove() }
        try "first \(UUID())\n".write(toFile: context.path + "/a.txt", atomically: true, encoding: .utf8)
        try "second \(UUID())\n".write(toFile: context.path + "/b.txt", atomically: true, encoding: .utf8)
        try "FROM scratch\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\n".write(toFile: context.path + "/Containerfile", atomically: true, encoding: .utf8)
        let cache = "\(fixture.layover.url.dropFirst("http://".count))/up/team/buildcache"
        let build = ["build", "--isolation", "chroot", "--layers", "--tls-verify=false",
                     "--cache-to", cache, "--cache-from", cache, "-t", "layover-test", context.path]

        let firstStorage = try TemporaryDirectory()
        defer { firstStorage.remove() }
        let first = try await Self.buildah(build, storage: firstStorage.path)
        #expect(first.components(separatedBy: "Pushing cache").count - 1 == 2, "\(first)")

        let secondStorage = try TemporaryDirectory()
        defer { secondStorage.remove() }
        let second = try await Self.buildah(build, storage: secondStorage.path)
        #expect(second.components(separatedBy: "Cache pulled from remote").count - 1 == 2, "\(second)")
        #expect(second.components(separatedBy: "Using cache").count - 1 == 2, "\(second)")

        try await eventually(timeout: .seconds(30)) {
            let tags = try await TestHTTP.shared.get("\(fixture.registry.url)/v2/team/buildcache/tags/list")
            return tags.status == 200 && tags.text.components(separatedBy: ",").count >= 2
        }
    }
}
