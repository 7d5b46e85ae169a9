import LayoverWire
import Testing
@testable import LayoverStore

@Suite("StoreBudget and StoreLayout")
struct StoreBudgetAndLayoutTests {
    @Test func watermarks() {
        let budget = StoreBudget(maxBytes: 20 * 1024 * 1024 * 1024)
        #expect(budget.highWatermark == 21_474_836_480)
        #expect(budget.lowWatermark == 19_327_352_832)
        #expect(StoreBudget(maxBytes: 1_000).lowWatermark == 900)
        #expect(StoreBudget(maxBytes: 1_005).lowWatermark == 900)
    }

    @Test func layoutPaths() throws {
        let layout = StoreLayout(root: "/var/lib/layover/")
        let digest = try Digest(parsing: "sha256:" + String(repeating: "ab", count: 32))
        #expect(layout.root == "/var/lib/layover")
        #expect(layout.blobsDirectory == "/var/lib/layover/blobs")
        #expect(layout.ingestDirectory == "/var/lib/layover/ingest")
        #expect(layout.indexPath == "/var/lib/layover/index.sqlite")
        #expect(layout.blobDirectory(for: digest) == "/var/lib/layover/blobs/sha256/ab")
        #expect(layout.blobPath(for: digest) == "/var/lib/layover/blobs/sha256/ab/" + String(repeating: "ab", count: 32))
        #expect(layout.ingestPath(id: "x1") == "/var/lib/layover/ingest/x1")
        #expect(StoreLayout(root: "/").root == "/")
        #expect(StoreLayout(root: "data").indexPath == "data/index.sqlite")
    }
}
