// Fuzz target: a chunk's `Content-Range` on an upload PATCH (`RegistryResponder.contentRange`),
// and which `Range` a blob GET honours beside an `If-Range` (`RegistryResponder.applicableRange`).
// Input: the Content-Range value; after a newline, a Range value; after another, an If-Range value.
// modules: LayoverHTTP
@testable import LayoverHTTP
import NIOHTTP1

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUploadRange(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let lines = fuzzText(data, size).split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
    if let range = try? RegistryResponder.contentRange(lines[0]) {
        require(range.start >= 0, "\(lines[0]) parsed as \(range)")
        if let end = range.end {
            require(end >= range.start && end < 1 << 50, "\(lines[0]) parsed as \(range)")
            _ = end - range.start + 1
        }
    }
    var headers = HTTPHeaders()
    if lines.count > 1 { headers.add(name: "Range", value: lines[1]) }
    if lines.count > 2 { headers.add(name: "If-Range", value: lines[2]) }
    let etag = "\"sha256:0123\""
    if let honoured = RegistryResponder.applicableRange(headers, etag: etag) {
        require(honoured == lines[1], "honoured a Range that was not sent")
        require(lines.count < 3 || lines[2].trimmingCharacters(in: .whitespaces) == etag, "If-Range ignored")
    }
    return 0
}
