// Fuzz target: `Digest(parsing:)`, which every request by digest and every manifest descriptor goes through.
// sources: Sources/LayoverWire/Digest.swift Sources/LayoverWire/WireError.swift

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDigest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = fuzzText(data, size)
    guard let digest = try? Digest(parsing: text) else { return 0 }
    require(digest.description == text, "\(text) printed back as \(digest)")
    require(digest.encoded.utf8.count == digest.algorithm.hexLength, "wrong length accepted: \(text)")
    require(digest.encoded.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) },
                 "non-hex accepted: \(text)")
    require((try? Digest(algorithm: digest.algorithm, hex: digest.encoded)) == digest, "\(text) did not rebuild")
    require((try? Digest(parsing: Substring(text))) == digest, "\(text) parsed differently as a Substring")
    return 0
}
