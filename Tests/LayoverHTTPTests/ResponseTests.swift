import LayoverWire
import NIOCore
import NIOHTTP1
import Testing
@testable import LayoverHTTP

@Suite("Response")
struct ResponseTests {
    static func text(_ body: Response.Body) -> String? {
        guard case .bytes(let buffer) = body else { return nil }
        return String(buffer: buffer)
    }

    @Test func jsonSetsTypeAndLength() {
        let response = Response.json(#"{"é":1}"#, status: .accepted)
        #expect(response.status == .accepted)
        #expect(response.headers["Content-Type"] == ["application/json"])
        #expect(response.headers["Content-Length"] == ["8"])
        #expect(Self.text(response.body) == #"{"é":1}"#)
    }

    @Test func anErrorCarriesItsStatusBodyAndHeaders() {
        let response = Response.error(.tooManyRequests(retryAfter: 7))
        let body = OCIError.tooManyRequests(retryAfter: 7).jsonBody
        #expect(response.status == .tooManyRequests)
        #expect(response.headers["Retry-After"] == ["7"])
        #expect(response.headers["Content-Length"] == [String(body.utf8.count)])
        #expect(Self.text(response.body) == body)
    }

    @Test func aHeadErrorKeepsTheHeadersWithoutTheBody() {
        let response = Response.error(.manifestUnknown("v1"), headOnly: true)
        #expect(response.status == .notFound)
        #expect(response.headers["Content-Type"] == ["application/json"])
        #expect(response.headers["Content-Length"] == [String(OCIError.manifestUnknown("v1").jsonBody.utf8.count)])
        guard case .empty = response.body else {
            Issue.record("expected an empty body")
            return
        }
    }
}
