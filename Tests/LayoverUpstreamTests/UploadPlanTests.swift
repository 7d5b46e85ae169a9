import Testing
@testable import LayoverUpstream

@Suite("Upload plan")
struct UploadPlanTests {
    @Test("a blob no larger than a chunk goes up in one PUT")
    func monolithic() {
        let plan = UploadPlan(size: 100, chunkBytes: 100)
        #expect(plan.request == (0, 100, true))
    }

    @Test("a larger blob goes up in chunks, then a closing PUT without body; the answer's Range moves the offset")
    func chunks() {
        var plan = UploadPlan(size: 250, chunkBytes: 100)
        #expect(plan.request == (0, 100, false))
        #expect(plan.accepted(range: "0-99") == .send)
        #expect(plan.request == (100, 100, false))
        #expect(plan.accepted(range: nil) == .send)
        #expect(plan.request == (200, 50, false))
        #expect(plan.accepted(range: "bytes=0-249") == .send)
        #expect(plan.request == (250, 0, true))
        #expect(plan.finished() == .done)
    }

    @Test("a 401 resyncs with a fresh token; a second 401 before any progress is final; progress forgives it")
    func unauthorized() {
        var plan = UploadPlan(size: 300, chunkBytes: 100)
        #expect(plan.unauthorized("chunk answered 401") == .resync)
        plan.resumed(range: "0-0")
        #expect(plan.request.offset == 0)
        #expect(plan.accepted(range: "0-99") == .send)
        #expect(plan.unauthorized("chunk answered 401") == .resync)
        plan.resumed(range: "0-99")
        #expect(plan.request == (100, 100, false))
        guard case .fail(let reason, unauthorized: true) = plan.unauthorized("chunk answered 401") else {
            Issue.record("a second 401 in a row must be final")
            return
        }
        #expect(reason.contains("401"))
    }

    @Test("failures resync up to a bound; an upload the upstream forgot restarts from 0")
    func failures() {
        var plan = UploadPlan(size: 300, chunkBytes: 100)
        _ = plan.accepted(range: "0-99")
        #expect(plan.failed("reset") == .resync)
        plan.resumed(range: nil)
        #expect(plan.request.offset == 0)
        #expect(plan.failed("reset") == .resync)
        #expect(plan.failed("reset") == .fail("reset (3 failures in a row)", unauthorized: false))
    }

    @Test("a monolithic upload that fails ends the attempt; a 401 still gets one fresh token")
    func monolithicFailure() {
        var plan = UploadPlan(size: 100, chunkBytes: 100)
        #expect(plan.failed("stalled") == .fail("stalled", unauthorized: false))
        var refused = UploadPlan(size: 100, chunkBytes: 100)
        #expect(refused.unauthorized("upload answered 401") == .resync)
        guard case .fail(_, unauthorized: true) = refused.unauthorized("upload answered 401") else {
            Issue.record("a second 401 must be final")
            return
        }
    }

    @Test("a refused first chunk means no chunks: the blob goes up whole; a later refusal resyncs")
    func chunksRefused() {
        var plan = UploadPlan(size: 300, chunkBytes: 100)
        #expect(plan.chunkRefused("405") == .restart)
        plan.restarted()
        #expect(plan.request == (0, 300, true))
        var later = UploadPlan(size: 300, chunkBytes: 100)
        _ = later.accepted(range: "0-99")
        #expect(later.chunkRefused("416") == .resync)
    }

    @Test("upload status ranges", arguments: [("0-0", 0), ("0-99", 100), ("bytes=0-9", 10)] as [(String, Int64)])
    func ranges(_ header: String, _ offset: Int64) {
        #expect(UploadPlan.offset(afterRange: header) == offset)
    }

    @Test("ranges that are not an upload's", arguments: ["", "5-9", "0-", "0-x", "bytes 0-9/10"])
    func badRanges(_ header: String) {
        #expect(UploadPlan.offset(afterRange: header) == nil)
    }
}

@Suite("Link header")
struct LinkHeaderTests {
    @Test("the next page's target", arguments: [
        ("</v2/a/tags/list?n=10&last=x>; rel=\"next\"", "/v2/a/tags/list?n=10&last=x"),
        ("<https://r.example/v2/a/tags/list?last=x>;rel=next", "https://r.example/v2/a/tags/list?last=x"),
        ("</first>; rel=\"first\", </next?last=y>; rel=\"next\"", "/next?last=y"),
        ("</v2/a/tags/list?last=z>; rel=\"prev next\"", "/v2/a/tags/list?last=z"),
    ] as [(String, String)])
    func next(_ header: String, _ target: String) {
        #expect(LinkHeader.next(header) == target)
    }

    @Test("no next page", arguments: ["", "</prev>; rel=\"prev\"", "/v2/a/tags/list; rel=\"next\"", "<x>"])
    func none(_ header: String) {
        #expect(LinkHeader.next(header) == nil)
    }
}
