// Fuzz target: the YAML configuration file, `LayoverConfiguration.apply(yaml:)` over the embedded
// default, then `validated()` and the printer on what it accepted.
// modules: LayoverConfig
import LayoverConfig

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var configuration = LayoverConfiguration.embeddedDefault
    do {
        try configuration.apply(yaml: fuzzText(data, size))
    } catch {
        return 0
    }
    _ = try? configuration.validated()
    _ = ConfigurationPrinter.yaml(configuration)
    return 0
}
