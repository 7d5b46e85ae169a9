import Testing
@testable import LayoverConfig

@Suite("ByteSize")
struct ByteSizeTests {
    @Test("parses sizes as operators write them", arguments: [
        ("1048576", Int64(1_048_576)),
        ("0", 0),
        ("10b", 10),
        ("10B", 10),
        ("1k", 1_024),
        ("2K", 2_048),
        ("1Ki", 1_024),
        ("1KiB", 1_024),
        ("1.5KiB", 1_536),
        ("512MiB", 536_870_912),
        ("512M", 536_870_912),
        ("20GiB", 21_474_836_480),
        ("20gib", 21_474_836_480),
        ("1T", 1_099_511_627_776),
        ("1TiB", 1_099_511_627_776),
        ("1KB", 1_000),
        ("1mb", 1_000_000),
        ("1.5GB", 1_500_000_000),
        ("2TB", 2_000_000_000_000),
        ("1 GiB", 1_073_741_824),
        (" 10 MiB ", 10_485_760),
        ("1_000_000", 1_000_000),
        ("0.5", 0),
        ("9000000TB", 9_000_000_000_000_000_000),
    ])
    func parses(_ text: String, _ bytes: Int64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test("refuses what it cannot read", arguments: [
        "", "MiB", "-1", "-1GiB", "1PB", "1 PiB", "1.2.3", "abc", "1e3", "GiB1", "1GiBs", "10000000TB", "٣", "½",
    ])
    func refuses(_ text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test("formats in the largest readable binary unit", arguments: [
        (Int64(0), "0B"),
        (1, "1B"),
        (1_023, "1023B"),
        (1_024, "1KiB"),
        (1_536, "1.5KiB"),
        (536_870_912, "512MiB"),
        (21_474_836_480, "20GiB"),
        (1_099_511_627_776, "1TiB"),
        (2_251_799_813_685_248, "2048TiB"),
        (1_500_000, "1.4MiB"),
    ])
    func formats(_ bytes: Int64, _ text: String) {
        #expect(ByteSize.format(bytes) == text)
    }

    @Test("exact sizes survive formatting and parsing", arguments: [Int64(0), 1_024, 1_536, 536_870_912, 21_474_836_480])
    func roundTrips(_ bytes: Int64) {
        #expect(ByteSize.parse(ByteSize.format(bytes)) == bytes)
    }
}
