import Foundation
import LayoverTestSupport

/// What BuildKit does on `--cache-from`: fetch the cache manifest, then its config and every
/// layer, a few downloads at a time. Blobs go to /dev/null through curl.
enum CacheImport {
    /// One client's import from `registryBase` (`http://host:port/v2/<prefix>`); returns the
    /// bytes received. Throws when a download fails or comes back short.
    static func run(_ cache: SyntheticCache, from registryBase: String, parallel: Int, timeout: Int) async throws -> Int {
        let base = "\(registryBase)/\(cache.repository)"
        let manifest = try await TestHTTP.shared.get("\(base)/manifests/\(cache.tag)",
                                                     headers: [("Accept", "application/vnd.oci.image.manifest.v1+json")])
        guard manifest.status == 200, manifest.body == cache.manifest else {
            throw TestFailure("cache manifest from \(base): \(manifest.status)")
        }
        return try await withThrowingTaskGroup(of: Int.self) { group in
            var pending = cache.blobs[...]
            func startNext() {
                guard let blob = pending.popFirst() else { return }
                group.addTask {
                    // Following redirects, as BuildKit and containerd do.
                    let result = try await Curl.download("\(base)/blobs/\(blob.digest)", arguments: ["-L"], maximumSeconds: timeout)
                    guard result.bytes == blob.size else { throw TestFailure("\(blob.digest): \(result.bytes) of \(blob.size) bytes") }
                    return result.bytes
                }
            }
            for _ in 0..<parallel { startNext() }
            var received = 0
            while let bytes = try await group.next() {
                received += bytes
                startNext()
            }
            return received + manifest.body.count
        }
    }

    /// `clients` imports at once; returns how many completed and the wall time.
    static func fleet(_ cache: SyntheticCache, from registryBase: String, clients: Int, parallel: Int,
                      timeout: Int) async -> (complete: Int, seconds: Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let complete = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<clients {
                group.addTask { (try? await run(cache, from: registryBase, parallel: parallel, timeout: timeout)) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        return (complete, (clock.now - start) / .seconds(1))
    }
}
