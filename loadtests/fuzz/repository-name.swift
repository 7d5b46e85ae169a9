// Fuzz target: `RepositoryName`, the distribution spec's name grammar every request path goes through.
// sources: Sources/LayoverWire/RepositoryName.swift Sources/LayoverWire/WireError.swift

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRepositoryName(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = fuzzText(data, size)
    guard let name = try? RepositoryName(text) else {
        // A name refused whole has a component refused on its own, or is too long, or has an
        // empty component.
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        require(text.utf8.count > RepositoryName.maximumLength
                     || parts.contains { !RepositoryName.isValidComponent($0) },
                     "\(text) refused although each component is valid")
        return 0
    }
    require(name.value == text && name.description == text, "\(text) printed back as \(name)")
    require(text.utf8.count <= RepositoryName.maximumLength, "too long accepted: \(text.utf8.count) bytes")
    require(name.components.joined(separator: "/") == text, "components of \(text) do not join back")
    require(name.components.allSatisfy(RepositoryName.isValidComponent), "an invalid component in \(text)")
    require(text.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || "._-/".utf8.contains($0) },
                 "a byte outside the grammar in \(text)")
    return 0
}
