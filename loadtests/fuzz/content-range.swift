// Fuzz target: an upstream's `Content-Range` answer to a resumed blob download (`ContentRange`).
// sources: Sources/LayoverUpstream/ContentRange.swift

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzContentRange(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let header = fuzzText(data, size)
    guard let range = ContentRange(header) else { return 0 }
    require(range.start >= 0 && range.end >= range.start, "\(header) parsed as \(range)")
    if let total = range.total { require(total > range.end, "\(header): total not past the end") }
    // The bytes the range covers can be counted without overflow only if end - start does not
    // overflow, which start >= 0 guarantees.
    _ = range.end - range.start + 1
    let printed = "bytes \(range.start)-\(range.end)/\(range.total.map(String.init) ?? "*")"
    require(ContentRange(printed) == range, "\(header) printed as \(printed) parses differently")
    return 0
}
