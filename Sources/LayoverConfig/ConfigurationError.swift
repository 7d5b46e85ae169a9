/// Why a configuration was refused; the message names the key and the bad value.
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
