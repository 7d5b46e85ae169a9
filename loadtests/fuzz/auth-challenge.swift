// Fuzz target: an upstream's `WWW-Authenticate` header, `AuthChallenge(header:)`.
// sources: Sources/LayoverUpstream/AuthChallenge.swift

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAuthChallenge(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let header = fuzzText(data, size)
    guard let challenge = AuthChallenge(header: header) else { return 0 }
    require(!challenge.scheme.isEmpty && !challenge.scheme.contains(" "), "\(header): scheme \(challenge.scheme)")
    require(challenge.scheme == challenge.scheme.lowercased(), "\(header): scheme not lowercased")
    for key in challenge.parameters.keys {
        require(!key.isEmpty && key == key.lowercased(), "\(header): parameter key \(key)")
    }
    return 0
}
