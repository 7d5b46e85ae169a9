import Foundation
import LayoverTestSupport

/// What `indexSynchronous: full` (the default: a `201` survives power loss) costs over `normal`
/// in push acknowledgement time (issue 15, item 12). Two Layover processes, one of each, pushes
/// `local` (nothing replicates), pushed to in turn by one client so that the machine's noise falls
/// on both alike: a 1 KiB blob as one `POST ?digest=`, and an image of four 1 KiB blobs (pushed
/// at once, as BuildKit does) and its manifest by tag, timed until the manifest's 201.
struct SynchronousScenario {
    let layover: String
    let blobPushes: Int
    let imagePushes: Int

    func run(report: Report) async throws {
        say("# synchronous: \(blobPushes) blob pushes and \(imagePushes) image pushes to each of indexSynchronous full and normal")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var targets: [(name: String, process: LayoverProcess)] = []
        for mode in ["full", "normal"] {
            let config = "\(directory.path)/\(mode).yaml"
            try "indexSynchronous: \(mode)\nupstreams:\n  up:\n    url: http://127.0.0.1:9\n    push: local\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            let process = try await LayoverProcess(upstreamURL: "http://127.0.0.1:9", storage: "\(directory.path)/\(mode)",
                                                   extraArguments: ["--config", config], binary: layover)
            targets.append(("layover-sync-\(mode)", process))
        }
        defer { for target in targets { target.process.stop(signal: SIGKILL) } }

        var blobTimes: [String: [Double]] = [:]
        var imageTimes: [String: [Double]] = [:]
        for round in 0..<max(blobPushes, imagePushes) {
            for index in targets.indices {
                let target = targets[(index + round) % targets.count]
                let pusher = OCIPusher(base: "\(target.process.url)/v2/up/bench/sync")
                if round < blobPushes { blobTimes[target.name, default: []].append(try await Self.timeBlob(pusher)) }
                if round < imagePushes { imageTimes[target.name, default: []].append(try await Self.timeImage(pusher, tag: "t\(round)")) }
            }
        }
        for target in targets {
            let blobs = blobTimes[target.name, default: []].sorted()
            let images = imageTimes[target.name, default: []].sorted()
            report.add(target.name, "sync-blob-ack-p50", Self.percentile(blobs, 0.5), "ms")
            report.add(target.name, "sync-blob-ack-p99", Self.percentile(blobs, 0.99), "ms")
            report.add(target.name, "sync-image-ack-p50", Self.percentile(images, 0.5), "ms")
            report.add(target.name, "sync-image-ack-p99", Self.percentile(images, 0.99), "ms")
        }
    }

    /// Milliseconds until a monolithic `POST ?digest=` of 1 KiB is acknowledged.
    static func timeBlob(_ pusher: OCIPusher) async throws -> Double {
        let bytes = freshBytes(1024)
        let clock = ContinuousClock()
        let start = clock.now
        try await postBlob(pusher, bytes)
        return ScaleStore.seconds(clock.now - start) * 1000
    }

    /// Milliseconds until the manifest of a four-blob image (blobs pushed at once) is acknowledged.
    static func timeImage(_ pusher: OCIPusher, tag: String) async throws -> Double {
        let blobs = (0..<4).map { _ in freshBytes(1024) }
        let descriptors = blobs.map { #"{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#(TestHTTP.digest(of: $0))","size":\#($0.count)}"# }
        let manifest = Array("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":\(descriptors[0].replacingOccurrences(of: "layer.v1.tar+gzip", with: "config.v1+json")),"layers":[\(descriptors.dropFirst().joined(separator: ","))]}
            """.utf8)
        let clock = ContinuousClock()
        let start = clock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for blob in blobs { group.addTask { try await postBlob(pusher, blob) } }
            try await group.waitForAll()
        }
        let answer = try await pusher.putManifest(tag, manifest, mediaType: "application/vnd.oci.image.manifest.v1+json")
        guard answer.status == 201 else { throw TestFailure("manifest push answered \(answer.status): \(answer.text)") }
        return ScaleStore.seconds(clock.now - start) * 1000
    }

    private static func postBlob(_ pusher: OCIPusher, _ bytes: [UInt8]) async throws {
        let answer = try await TestHTTP.shared.send(.POST, "\(pusher.base)/blobs/uploads/?digest=\(TestHTTP.digest(of: bytes))",
                                                    headers: [("Content-Type", "application/octet-stream")], body: bytes)
        guard answer.status == 201 else { throw TestFailure("POST ?digest= answered \(answer.status): \(answer.text)") }
    }

    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}
