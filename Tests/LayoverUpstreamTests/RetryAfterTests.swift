import Foundation
import LayoverUpstream
import Testing

@Suite("Retry-After")
struct RetryAfterTests {
    static let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT

    @Test("delay-seconds and HTTP-dates, in every form RFC 9110 names", arguments: [
        ("120", 120), (" 0 ", 0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30),
        ("Wednesday, 21-Oct-15 07:29:00 GMT", 60),
        ("Wed Oct 21 07:28:05 2015", 5),
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0),
    ])
    func parsed(_ header: String, _ expected: Int) {
        #expect(RetryAfter.seconds(header, now: Self.now) == expected)
    }

    @Test("negative numbers and garbage are no answer", arguments: ["-5", "1.5", "soon", "", "Wed, 99 Oct 2015 07:28:30 GMT"])
    func refused(_ header: String) {
        #expect(RetryAfter.seconds(header, now: Self.now) == nil)
    }
}
