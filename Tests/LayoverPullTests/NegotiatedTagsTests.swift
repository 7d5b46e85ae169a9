import LayoverStore
import LayoverWire
import Testing
@testable import LayoverPull

@Suite("NegotiatedTags")
struct NegotiatedTagsTests {
    let tags = NegotiatedTags(pruneThreshold: 2)
    let repository = RepositoryKey(upstream: "docker.io", repository: try! RepositoryName("library/alpine"))
    let tag = try! Tag("3.20")
    let single = Digest.sha256(of: Array("single".utf8))
    static let manifest = "application/vnd.docker.distribution.manifest.v2+json"
    static let list = "application/vnd.docker.distribution.manifest.list.v2+json"

    @Test func aFreshAnswerIsOnlyForTheSameAcceptTypes() {
        tags.record(repository, tag, accept: [Self.manifest], digest: single, now: 100, window: 60)
        #expect(tags.fresh(repository, tag, accept: [Self.manifest], now: 120, window: 60) == single)
        #expect(tags.fresh(repository, tag, accept: [Self.list, Self.manifest], now: 120, window: 60) == nil)
        #expect(tags.fresh(repository, tag, accept: [], now: 120, window: 60) == nil)
    }

    @Test func orderAndParametersDoNotMatter() {
        tags.record(repository, tag, accept: [Self.list, Self.manifest + "; q=0.9"], digest: single, now: 100, window: 60)
        #expect(tags.fresh(repository, tag, accept: [" \(Self.manifest)", Self.list.uppercased()], now: 100, window: 60) == single)
    }

    @Test func answersExpireWithTheWindow() {
        tags.record(repository, tag, accept: [Self.manifest], digest: single, now: 100, window: 60)
        #expect(tags.fresh(repository, tag, accept: [Self.manifest], now: 160, window: 60) == nil)
    }

    @Test func expiredEntriesArePrunedPastTheThreshold() {
        let other = try! Tag("other")
        tags.record(repository, tag, accept: [Self.manifest], digest: single, now: 0, window: 10)
        tags.record(repository, other, accept: [Self.manifest], digest: single, now: 5, window: 10)
        tags.record(repository, tag, accept: [Self.list], digest: single, now: 100, window: 10)
        #expect(tags.fresh(repository, tag, accept: [Self.list], now: 100, window: 10) == single)
        #expect(tags.fresh(repository, tag, accept: [Self.manifest], now: 100, window: 1000) == nil, "pruned")
    }
}
