import Foundation
import Testing
@testable import LayoverWire

@Suite("OCIError")
struct OCIErrorTests {
    @Test func jsonBodyHasTheSpecLayout() {
        let error = OCIError.manifestUnknown("latest")
        #expect(error.jsonBody == #"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown: latest","detail":null}]}"#)
    }

    @Test func jsonBodyEscapesTheMessage() {
        let error = OCIError(status: 400, code: .manifestInvalid, message: "a \"quoted\" \\ path\nline2\r\tend\u{01}\u{1F}é🚀/")
        #expect(error.jsonBody == #"{"errors":[{"code":"MANIFEST_INVALID","message":"a \"quoted\" \\ path\nline2\r\tend\u0001\u001fé🚀/","detail":null}]}"#)
    }

    @Test func jsonBodyIsValidJSONCarryingTheMessage() throws {
        let message = "bad \"input\" \\\n\u{0}\u{7F}\u{2028}"
        let error = OCIError(status: 400, code: .nameInvalid, message: message)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(error.jsonBody.utf8)) as? [String: Any])
        let errors = try #require(object["errors"] as? [[String: Any]])
        #expect(errors.count == 1)
        #expect(errors[0]["code"] as? String == "NAME_INVALID")
        #expect(errors[0]["message"] as? String == message)
        #expect(errors[0]["detail"] is NSNull)
    }

    @Test func quotedEscapesControlCharactersAsFourHexDigits() {
        #expect(OCIError.quoted("\u{0}") == #""\u0000""#)
        #expect(OCIError.quoted("\u{1B}") == #""\u001b""#)
        #expect(OCIError.quoted("") == #""""#)
        #expect(String(format4Hex: 0xABCD) == "abcd")
        #expect(String(format4Hex: 0x12345) == "12345")
    }

    @Test("named errors carry their status, code and message", arguments: [
        (OCIError.nameInvalid("Bad"), 400, OCIErrorCode.nameInvalid, "invalid repository name: Bad"),
        (.nameUnknown("no such upstream"), 404, .nameUnknown, "no such upstream"),
        (.digestInvalid("sha256:x"), 400, .digestInvalid, "invalid digest: sha256:x"),
        (.manifestInvalid("broken"), 400, .manifestInvalid, "broken"),
        (.manifestUnknown("v1"), 404, .manifestUnknown, "manifest unknown: v1"),
        (.blobUnknown("sha256:y"), 404, .blobUnknown, "blob unknown: sha256:y"),
        (.unsupported("no deletes"), 405, .unsupported, "no deletes"),
        (.unsupported("no pushes", status: 501), 501, .unsupported, "no pushes"),
        (.unavailable("upstream down"), 503, .unavailable, "upstream down"),
        (.tooManyRequests(retryAfter: 30), 429, .tooManyRequests, "upstream rate limit reached"),
    ])
    func namedErrors(_ error: OCIError, _ status: Int, _ code: OCIErrorCode, _ message: String) {
        #expect(error.status == status)
        #expect(error.code == code)
        #expect(error.message == message)
    }

    @Test func rateLimitingCarriesRetryAfterWhenKnown() {
        let known = OCIError.tooManyRequests(retryAfter: 30)
        #expect(known.headers.count == 1)
        #expect(known.headers.first?.0 == "Retry-After")
        #expect(known.headers.first?.1 == "30")
        #expect(OCIError.tooManyRequests(retryAfter: nil).headers.isEmpty)
    }

    @Test func equalityIgnoresHeaders() {
        let a = OCIError(status: 429, code: .tooManyRequests, message: "m", headers: [("Retry-After", "1")])
        let b = OCIError(status: 429, code: .tooManyRequests, message: "m")
        #expect(a == b)
        #expect(a != OCIError(status: 503, code: .tooManyRequests, message: "m"))
        #expect(a != OCIError(status: 429, code: .unavailable, message: "m"))
        #expect(a != OCIError(status: 429, code: .tooManyRequests, message: "n"))
    }

    @Test("wire errors map to what a client should see", arguments: [
        (WireError.invalidDigest("d"), OCIError(status: 400, code: .digestInvalid, message: "invalid digest: d")),
        (.invalidName("N"), OCIError(status: 400, code: .nameInvalid, message: "invalid repository name: N")),
        (.invalidTag("-t"), OCIError(status: 400, code: .manifestInvalid, message: "invalid tag: -t")),
        (.invalidRange("bytes=9-1"), OCIError(status: 416, code: .rangeInvalid, message: "invalid range: bytes=9-1")),
        (.invalidManifest("no media type"), OCIError(status: 400, code: .manifestInvalid, message: "no media type")),
        (.manifestTooLarge(5_000_000), OCIError(status: 413, code: .sizeInvalid, message: "manifest of 5000000 bytes exceeds the limit")),
    ])
    func mapsWireErrors(_ wire: WireError, _ expected: OCIError) {
        let mapped = OCIError(wire)
        #expect(mapped == expected)
        #expect(mapped.headers.isEmpty)
    }

    @Test("codes have the spec's spelling", arguments: [
        (OCIErrorCode.blobUnknown, "BLOB_UNKNOWN"), (.blobUploadInvalid, "BLOB_UPLOAD_INVALID"),
        (.blobUploadUnknown, "BLOB_UPLOAD_UNKNOWN"), (.digestInvalid, "DIGEST_INVALID"),
        (.manifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN"), (.manifestInvalid, "MANIFEST_INVALID"),
        (.manifestUnknown, "MANIFEST_UNKNOWN"), (.nameInvalid, "NAME_INVALID"), (.nameUnknown, "NAME_UNKNOWN"),
        (.sizeInvalid, "SIZE_INVALID"), (.unauthorized, "UNAUTHORIZED"), (.denied, "DENIED"),
        (.unsupported, "UNSUPPORTED"), (.tooManyRequests, "TOOMANYREQUESTS"), (.rangeInvalid, "RANGE_INVALID"),
        (.unavailable, "UNAVAILABLE"),
    ])
    func codeSpelling(_ code: OCIErrorCode, _ text: String) {
        #expect(code.rawValue == text)
    }
}
