import Foundation
import LayoverWire
import Testing
@testable import LayoverStore

/// A deletion applied here: forgotten at once, kept from coming back until its job is done,
/// across a restart (issue 11, item 3).
@Suite("Tombstones")
final class TombstoneTests {
    let scratch = ScratchDirectory()
    let clock = ManualClock(1_000)
    let repository = RepositoryKey(upstream: "up", repository: try! RepositoryName("ci/x"))

    func open() throws -> BlobStore {
        try BlobStore(layout: StoreLayout(root: scratch.path + "/store"), budget: StoreBudget(maxBytes: 1 << 30),
                      clock: clock.function, availableBytes: plentyOfDisk)
    }

    /// A manifest stored and pushed to `tag` here (replicated and done).
    func pushed(_ store: BlobStore, tag: LayoverWire.Tag) async throws -> Digest {
        let bytes = Array("{\"schemaVersion\":2,\"mediaType\":\"\(MediaType.ociIndex)\",\"manifests\":[],\"n\":\"\(tag)\"}".utf8)
        let digest = Digest.sha256(of: bytes)
        _ = try await store.put(bytes, digest: digest, mediaType: MediaType.ociIndex)
        let job = try #require(try await store.recordPush(repository: repository, tag: tag, manifest: digest, mediaType: MediaType.ociIndex,
                                                          needs: [], replicate: true).job)
        try await store.completeJob(job)
        return digest
    }

    @Test("a deleted manifest takes its tags; both stay deleted across a restart until the job is done")
    func manifestDeletion() async throws {
        var store = try open()
        let tag = try Tag("v1")
        let digest = try await pushed(store, tag: tag)
        let job = try #require(try await store.recordDelete(repository, .manifest(digest), digest: digest, replicate: true))
        #expect(job.operation == ReplicationJob.Operation.deleteManifest)
        #expect(store.isDeleted(repository, digest.description) && store.isDeleted(repository, "v1"))
        #expect(try await store.tag(repository, tag) == nil)
        #expect(try await store.isLinked(repository, digest) == false)
        #expect(store.record(for: digest) != nil, "the file stays for other repositories")

        store.close()
        store = try open()
        #expect(store.isDeleted(repository, digest.description) && store.isDeleted(repository, "v1"))
        #expect(try store.replicationJobs().map(\.operation) == [.deleteManifest])
        // A revalidation racing the deletion put the link back; the completion forgets it again.
        try await store.link(repository, digest)
        try await store.completeJob(job)
        #expect(!store.isDeleted(repository, digest.description) && !store.isDeleted(repository, "v1"))
        #expect(try await store.isLinked(repository, digest) == false)
        #expect(try store.replicationJobs().isEmpty)
    }

    @Test("a new push of a deleted tag ends its tombstone and supersedes the pending deletion")
    func pushAfterDeletion() async throws {
        let store = try open()
        let tag = try Tag("v1")
        let digest = try await pushed(store, tag: tag)
        let deletion = try #require(try await store.recordDelete(repository, .tag(tag), digest: digest, replicate: true))
        #expect(store.isDeleted(repository, "v1") && !store.isDeleted(repository, digest.description))
        let again = try await store.recordPush(repository: repository, tag: tag, manifest: digest, mediaType: MediaType.ociIndex,
                                               needs: [], replicate: true)
        #expect(again.superseded == [deletion.id])
        #expect(!store.isDeleted(repository, "v1"))
        #expect(try await store.tag(repository, tag)?.pushPending == true)
    }

    @Test("an upload of a deleted blob ends its tombstone; local mode records no job but keeps the tombstone")
    func blobDeletion() async throws {
        let store = try open()
        let blob = Array("layer".utf8)
        let digest = Digest.sha256(of: blob)
        _ = try await store.put(blob, digest: digest, mediaType: nil)
        try await store.link(repository, digest)
        #expect(try await store.recordDelete(repository, .blob(digest), digest: digest, replicate: false) == nil)
        #expect(store.isDeleted(repository, digest.description))
        #expect(try store.replicationJobs().isEmpty)
        try await store.holdForPush([digest], in: repository, seconds: 60)
        #expect(!store.isDeleted(repository, digest.description))
    }
}
