import Foundation
import LayoverWire
import Testing
@testable import LayoverStore

/// A tag pushed through Layover wins over the upstream's until its last replication job is done
/// (issue 15, item 7).
@Suite("Pushed tags")
final class PushedTagTests {
    let scratch = ScratchDirectory()
    let clock = ManualClock(1_000)

    @Test("the same manifest pushed to a tag twice: the tag stays pushed here until the newer job completes; neither the superseded job's end nor an upstream revalidation moves it back")
    func samePushTwiceKeepsTheTag() async throws {
        let store = try BlobStore(layout: StoreLayout(root: scratch.path + "/store"), budget: StoreBudget(maxBytes: 1 << 30),
                                  clock: clock.function, availableBytes: plentyOfDisk)
        let repository = RepositoryKey(upstream: "up", repository: try RepositoryName("ci/x"))
        let tag = try Tag("t")
        let new = Array("{\"schemaVersion\":2,\"mediaType\":\"\(MediaType.ociIndex)\",\"manifests\":[]}".utf8)
        let newDigest = Digest.sha256(of: new)
        _ = try await store.put(new, digest: newDigest, mediaType: MediaType.ociIndex)
        func push() async throws -> (job: ReplicationJob?, superseded: [Int64]) {
            try await store.recordPush(repository: repository, tag: tag, manifest: newDigest,
                                       mediaType: MediaType.ociIndex, needs: [], replicate: true)
        }
        let first = try #require(try await push().job)
        let second = try await push()
        let newer = try #require(second.job)
        #expect(second.superseded == [first.id])
        // What the upstream still names: the image before the pushes.
        let old = TagRecord(digest: Digest.sha256(of: Array("old".utf8)), mediaType: MediaType.ociManifest, confirmedAt: 1_001)

        try await store.setTag(repository, tag, old)
        #expect(try await store.tag(repository, tag)?.digest == newDigest, "a revalidation while jobs are pending")

        // The older job ends as if it had replicated (it was past its superseded check when the newer push came).
        try await store.completeJob(first)
        let afterOlder = try #require(try await store.tag(repository, tag))
        #expect(afterOlder.pushPending, "the newer job of the tag is still pending")
        try await store.setTag(repository, tag, old)
        #expect(try await store.tag(repository, tag)?.digest == newDigest, "a revalidation after the older job ended")
        #expect(try store.replicationJobs().map(\.id) == [newer.id])

        try await store.completeJob(newer)
        #expect(try await store.tag(repository, tag)?.pushPending == false)
        try await store.setTag(repository, tag, old)
        #expect(try await store.tag(repository, tag)?.digest == old.digest, "once replicated, the upstream is followed again")
    }
}
