// Fuzz target: the cleartext port's choice between HTTP/1.1 and HTTP/2 with prior knowledge
// (`PriorKnowledgeSniffer.decide`) on the first bytes of a connection.
// modules: LayoverHTTP
@testable import LayoverHTTP
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPriorKnowledge(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let preface = PriorKnowledgeSniffer.preface
    let decision = PriorKnowledgeSniffer.decide(ByteBuffer(bytes: bytes))
    let expected: PriorKnowledgeSniffer.Kind?
    if bytes.starts(with: preface) {
        expected = .http2
    } else if preface.starts(with: bytes) {
        expected = nil  // still a proper prefix of the preface: wait for more
    } else {
        expected = .http1
    }
    require(decision == expected, "\(bytes.prefix(32)) decided \(String(describing: decision))")
    return 0
}
