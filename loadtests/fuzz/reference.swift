// Fuzz target: a manifest reference as a request path carries it, `Reference(parsing:)`.
// sources: Sources/LayoverWire/Reference.swift Sources/LayoverWire/Digest.swift Sources/LayoverWire/WireError.swift

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReference(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = fuzzText(data, size)
    guard let reference = try? Reference(parsing: text) else { return 0 }
    // What is accepted prints back as it came and parses again to the same value.
    require(reference.description == text, "\(text) printed back as \(reference)")
    require((try? Reference(parsing: reference.description)) == reference, "\(text) did not parse again")
    if case .tag(let tag) = reference { require(tag.value.utf8.count <= 128, "tag too long: \(text)") }
    return 0
}
