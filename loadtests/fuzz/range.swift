// Fuzz target: a blob GET's `Range` header, `ByteRangeRequest.parse` and `resolve(length:)`.
// Input: 8 bytes of blob length (little-endian, sign bit dropped), then the header value.
// sources: Sources/LayoverWire/ByteRange.swift Sources/LayoverWire/WireError.swift

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRange(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = fuzzBytes(data, size)[...]
    let length = Int64(truncatingIfNeeded: takeInteger(&bytes, count: 8) & UInt64(Int64.max))
    let header = String(decoding: bytes, as: UTF8.self)
    guard let request = try? ByteRangeRequest.parse(header) else { return 0 }
    switch request {
    case .from(let first, let last):
        require(first >= 0 && (last.map { $0 >= first } ?? true), "\(header) parsed as \(request)")
    case .suffix(let count):
        require(count >= 0, "\(header) parsed as \(request)")
    }
    guard let span = request.resolve(length: length) else { return 0 }
    // A satisfiable range is a non-empty span inside the blob.
    require(span.offset >= 0 && span.count > 0 && span.offset <= length - span.count,
                 "\(header) against \(length) bytes gave \(span)")
    require(span.contentRange(length: length) == "bytes \(span.offset)-\(span.offset + span.count - 1)/\(length)")
    return 0
}
