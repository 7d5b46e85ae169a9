// Compiled into every fuzz target: how a target reads libFuzzer's input.

/// The input as text: invalid UTF-8 becomes U+FFFD, as when a header or file is decoded.
func fuzzText(_ data: UnsafePointer<UInt8>, _ size: Int) -> String {
    String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
}

/// The input as bytes.
func fuzzBytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// Takes a little-endian integer of `count` bytes (fewer when the input runs out) off the front.
func takeInteger(_ bytes: inout ArraySlice<UInt8>, count: Int) -> UInt64 {
    var value: UInt64 = 0
    for shift in 0..<count {
        guard let byte = bytes.popFirst() else { break }
        value |= UInt64(byte) << (8 * UInt64(shift))
    }
    return value
}

/// Stops the run when `condition` fails, saying why (an optimized build's `precondition` would
/// trap without its message); libFuzzer then saves the input.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String = "",
             file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}
