// Fuzz target: the upload session machine (`UploadMachine`) driven by a sequence of operations
// decoded from the input, checked step by step against the model the property tests use.
// sources: Sources/LayoverPush/UploadMachine.swift Tests/LayoverPushTests/UploadMachineModel.swift

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUploadMachine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let steps = UploadStep.decode(fuzzBytes(data, size))
    if let failure = UploadMachineModel.check(steps) { fatalError(failure) }
    return 0
}
