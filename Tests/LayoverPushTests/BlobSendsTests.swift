@testable import LayoverPush
import Testing

@Suite("Blob sends")
struct BlobSendsTests {
    @Test("one send per repository and blob: later claims wait for its end and are told to look again; the key is free after")
    func oneSendPerKey() async {
        let sends = BlobSends()
        let key = BlobSends.key("up/team/app", "sha256:aa")
        #expect(await sends.claim(key))
        #expect(await sends.claim(BlobSends.key("up/team/other", "sha256:aa")), "another repository sends on its own")
        let second = Task { await sends.claim(key) }
        let third = Task { await sends.claim(key) }
        while sends.waiters(key) < 2 { await Task.yield() }
        sends.end(key)
        #expect(await second.value == false)
        #expect(await third.value == false)
        #expect(await sends.claim(key), "after the end, the next claim sends")
        sends.end(key)
        sends.end(key)
        #expect(sends.waiters(key) == 0)
    }
}
