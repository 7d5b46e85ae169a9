import NIOHTTP1
import Testing
@testable import LayoverHTTP

@Suite("RequestContext")
struct RequestContextTests {
    @Test("a sane client id is kept", arguments: ["abc", "ci-run-42.step_7", String(repeating: "a", count: 64)])
    func keepsSaneIDs(_ id: String) {
        #expect(RequestContext.id(from: HTTPHeaders([("X-Request-Id", id)])) == id)
    }

    @Test("anything else gets a fresh id", arguments: ["", "has space", "tab\there", String(repeating: "a", count: 65), "ünï"])
    func replacesOthers(_ id: String) {
        let made = RequestContext.id(from: HTTPHeaders([("X-Request-Id", id)]))
        #expect(made != id)
        #expect(!made.isEmpty && made.allSatisfy(\.isHexDigit))
    }

    @Test func freshIDsDiffer() {
        #expect(RequestContext.id(from: HTTPHeaders()) != RequestContext.id(from: HTTPHeaders()))
    }

    @Test func metadataCarriesTheIDOnlyInsideARequest() {
        #expect(RequestContext.metadataProvider.get().isEmpty)
        RequestContext.$current.withValue(RequestContext(id: "r1")) {
            #expect(RequestContext.metadataProvider.get()["request_id"] == "r1")
        }
    }
}
