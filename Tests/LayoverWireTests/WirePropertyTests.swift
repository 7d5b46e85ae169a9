import LayoverWire
import PropertyBased
import Testing

/// Random valid names, tags, digests and ranges, generated from their grammars: what is valid
/// parses and prints back as it was, and a range inside a blob selects bytes of that blob.
@Suite("Wire types, properties")
struct WirePropertyTests {
    @Test("a generated tag or digest parses as a reference and prints back")
    func referenceRoundTrip() async {
        await propertyCheck(input: Generators.tag, Generators.digest) { tag, digest in
            let byTag = try Reference(parsing: tag)
            let byDigest = try Reference(parsing: digest)
            #expect(byTag == .tag(try Tag(tag)) && byTag.description == tag)
            #expect(byDigest == .digest(try Digest(parsing: digest)) && byDigest.description == digest)
        }
    }

    @Test("a generated digest parses, prints back and rebuilds from its parts")
    func digestRoundTrip() async {
        await propertyCheck(input: Generators.digest) { text in
            let digest = try Digest(parsing: text)
            #expect(digest.description == text)
            #expect(digest.encoded.count == digest.algorithm.hexLength)
            #expect(try Digest(algorithm: digest.algorithm, hex: digest.encoded) == digest)
        }
    }

    @Test("a generated repository name parses, prints back and splits into valid components")
    func repositoryNameRoundTrip() async {
        await propertyCheck(input: Generators.repositoryName) { text in
            let name = try RepositoryName(text)
            #expect(name.value == text)
            #expect(name.components.joined(separator: "/") == text)
            #expect(name.components.allSatisfy(RepositoryName.isValidComponent))
        }
    }

    @Test("a Range header inside a blob yields exactly the bytes it names, within the blob")
    func rangeInsideSize() async {
        // The blob's size, and two numbers that place the range inside it.
        await propertyCheck(count: 300, input: Gen.int64(in: 1...(1 << 45)), Gen.uint64(), Gen.uint64()) { size, a, b in
            let first = Int64(a % UInt64(size))
            let last = first + Int64(b % UInt64(size - first))
            for (header, offset, count) in [
                ("bytes=\(first)-\(last)", first, last - first + 1),
                ("bytes=\(first)-", first, size - first),
                ("bytes=-\(last + 1)", size - (last + 1), last + 1),
            ] {
                let span = try #require(try ByteRangeRequest.parse(header)?.resolve(length: size), "\(header) of \(size)")
                #expect(span == ByteSpan(offset: offset, count: count), "\(header) of \(size)")
            }
        }
    }

    @Test("any Range header's span lies within the blob, or the range is unsatisfiable")
    func rangeNeverEscapes() async {
        await propertyCheck(count: 300, input: Gen.int64(in: 0...(1 << 45)), Generators.rangeNumber, Generators.rangeNumber) { size, first, last in
            for header in ["bytes=\(first)-\(last)", "bytes=\(first)-", "bytes=-\(last)"] {
                guard let request = try? ByteRangeRequest.parse(header), let span = request.resolve(length: size) else { continue }
                #expect(span.offset >= 0 && span.count > 0 && span.offset + span.count <= size, "\(header) of \(size): \(span)")
            }
        }
    }
}

/// Generators for the wire grammars.
enum Generators {
    static func characters(_ set: String) -> Generator<Character, Shrink.None<Character?>> {
        Gen<Character?>.element(of: Array(set)).map { $0! }
    }

    static let lowercaseAlphanumeric = characters("abcdefghijklmnopqrstuvwxyz0123456789")

    /// `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
    static let tag = zip(characters("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"),
                         characters("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-").string(of: 0...127))
        .map { String($0) + $1 }

    /// `sha256:` and 64 hex digits, or `sha512:` and 128.
    static let digest = zip(Gen.bool, characters("0123456789abcdef").string(of: 128))
        .map { sha512, hex in sha512 ? "sha512:\(hex)" : "sha256:\(hex.prefix(64))" }

    /// Alphanumeric runs joined by `.`, `_`, `__` or dashes.
    static let component = zip(lowercaseAlphanumeric.string(of: 1...6).array(of: 1...4),
                               Gen<String?>.element(of: [".", "_", "__", "-", "---"]).map { $0! }.array(of: 3))
        .map { runs, separators in
            runs.enumerated().map { index, run in index == 0 ? run : separators[(index - 1) % 3] + run }.joined()
        }

    /// One to five components joined by `/`.
    static let repositoryName = component.array(of: 1...5).map { $0.joined(separator: "/") }

    /// A number as a Range header may carry it: small, near the end of Int64, or past it.
    static let rangeNumber = zip(Gen.bool, Gen.uint64(in: 0...4096), Gen.uint64(in: UInt64(Int64.max) - 2048...UInt64(Int64.max) + 2048))
        .map { huge, small, large in huge ? large : small }
}
