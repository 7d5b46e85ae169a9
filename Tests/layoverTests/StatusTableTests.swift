import Foundation
import LayoverHTTP
import LayoverMetrics
import LayoverUpstream
import Testing
@testable import layover

@Suite("status table")
struct StatusTableTests {
    @Test func rendersEverySection() throws {
        let json = """
            {"uptimeSeconds": 3725, "hitRatio": 0.8, "egressSavedBytes": 3221225472,
             "store": {"root": "/var/lib/layover", "bytes": 10737418240, "files": 120, "reservedBytes": 0, "budgetBytes": 21474836480},
             "traffic": {"requests": 500, "manifestHits": 10, "manifestMisses": 2, "blobHits": 30, "blobMisses": 8, "coalesced": 3,
                         "servedFromStoreBytes": 4294967296, "servedWhileFetchingBytes": 0, "fetchedUpstreamBytes": 1073741824},
             "queue": {"pending": 2, "dead": 1, "oldestPendingSeconds": 75},
             "upstreams": [{"name": "ghcr.io", "url": "https://ghcr.io", "state": "failing",
                            "health": {"requests": 9, "failures": 4, "throttled": 1, "consecutiveFailures": 2, "lastError": "answered 503"}}]}
            """
        let status = try JSONDecoder().decode(AdminStatus.self, from: Data(json.utf8))
        let text = StatusTable.render(status, server: "http://layover:5000")
        #expect(text.contains("up 1h 2m"))
        #expect(text.contains("store     10GiB of 20GiB (50.0%), 120 blobs"))
        #expect(text.contains("hit ratio 80.0%"))
        #expect(text.contains("egress saved 3GiB"))
        #expect(text.contains("queue     2 waiting (oldest 1m 15s), 1 dead"))
        let row = try #require(text.split(separator: "\n").first { $0.hasPrefix("ghcr.io") })
        #expect(row.split(separator: " ", omittingEmptySubsequences: true).prefix(5) == ["ghcr.io", "failing", "9", "4", "1"])
        #expect(row.hasSuffix("answered 503"))
    }

    @Test func rendersTheFleet() throws {
        let json = """
            {"uptimeSeconds": 5, "egressSavedBytes": 0,
             "store": {"root": "/s", "bytes": 0, "files": 0, "reservedBytes": 0, "budgetBytes": 1},
             "traffic": {"requests": 0, "manifestHits": 0, "manifestMisses": 0, "blobHits": 0, "blobMisses": 0, "coalesced": 0,
                         "servedFromStoreBytes": 0, "servedWhileFetchingBytes": 0, "fetchedUpstreamBytes": 0},
             "upstreams": [],
             "fleet": {"me": "http://a:5000", "members": ["http://a:5000", "http://b:5000", "http://c:5000"],
                       "unreachable": {"http://c:5000": 75}, "share": 0.3333,
                       "traffic": {"peerFillsUsed": 4, "peerFillBytes": 2097152, "peerFillsServed": 6, "peerErrors": 1,
                                   "forwardedRequests": 9, "refusedPeerRequests": 2, "blobRedirects": 5}}}
            """
        let status = try JSONDecoder().decode(AdminStatus.self, from: Data(json.utf8))
        let text = StatusTable.render(status, server: "http://a:5000")
        #expect(text.contains("fleet     3 members, this node http://a:5000 (share 33.3%); peer fills 4 used (2MiB) / 6 served; "
                              + "9 forwarded; 5 blob redirects; 1 peer errors; 2 refused"), "\(text)")
        #expect(text.contains("members   http://a:5000 (this node), http://b:5000, http://c:5000 (unreachable for 1m 15s)"))
        // A single node's status has no fleet lines.
        var single = status
        single.fleet = nil
        #expect(!StatusTable.render(single, server: "x").contains("fleet "))
    }
}
