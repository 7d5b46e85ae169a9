import Testing
@testable import LayoverUpstream

@Suite("Upstream push answers")
struct RegistryClientPushTests {
    @Test("the OCI error codes of a refusal are read from its body, every entry, and none from what is not one")
    func errorCodes() {
        // distribution's answer to a manifest PUT that caught a link file mid-write.
        let caught = #"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"},"#
            + #"{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:91664b"}]}"#
        #expect(RegistryClient.errorCodes(caught) == ["DIGEST_INVALID", "MANIFEST_BLOB_UNKNOWN"])
        #expect(RegistryClient.errorCodes(#"{"errors":[{"message":"no code"}]}"#).isEmpty)
        #expect(RegistryClient.errorCodes("<html>bad gateway</html>").isEmpty)
        #expect(RegistryClient.errorCodes(#"{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN""#).isEmpty)
        #expect(RegistryClient.blobUnknownCodes.isSuperset(of: ["MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN"]))
    }
}
