/// The `limits:` section: what one client may cost. `limits.maxConnections` is the same
/// setting as the top-level `maxConnections` (`LayoverConfiguration.maxConnections`).
public struct Limits: Sendable, Equatable {
    /// A request head must be complete within this many seconds (a slowloris client is cut).
    public var headerTimeoutSeconds: Double = 10
    /// An idle keep-alive or HTTP/2 connection is closed after this many seconds.
    public var idleTimeoutSeconds: Double = 120
    /// The largest request head accepted (answered `431` beyond it).
    public var maxHeaderBytes = 64 * 1024
    /// HTTP/2 streams open at once on one connection.
    public var maxConcurrentStreams = 100
    /// The largest blob upload accepted (`413` beyond it); nil: only the store's budget limits it.
    public var maxUploadBytes: Int64?

    public init() {}
}

extension LayoverConfiguration {
    /// The `limits:` section as the file holds it.
    struct LimitsSection: Decodable {
        var headerTimeoutSeconds: Double?
        var idleTimeoutSeconds: Double?
        var maxHeaderBytes: Size?
        var maxConnections: Int?
        var maxConcurrentStreams: Int?
        var maxUploadBytes: Size?

        /// A byte count as a number or as text with a unit (`64KiB`, `10GiB`).
        struct Size: Decodable {
            var bytes: Int64?
            var text: String

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let number = try? container.decode(Int64.self) {
                    bytes = number >= 0 ? number : nil
                    text = String(number)
                } else {
                    text = try container.decode(String.self)
                    bytes = ByteSize.parse(text)
                }
            }

            func value(_ key: String) throws(ConfigurationError) -> Int64 {
                guard let bytes, bytes > 0 else { throw ConfigurationError("\(key): cannot parse \(text) as a size above zero") }
                return bytes
            }
        }
    }

    /// Applies the `limits:` section.
    mutating func apply(limits section: LimitsSection) throws(ConfigurationError) {
        if let seconds = section.headerTimeoutSeconds { limits.headerTimeoutSeconds = seconds }
        if let seconds = section.idleTimeoutSeconds { limits.idleTimeoutSeconds = seconds }
        if let size = section.maxHeaderBytes {
            let bytes = try size.value("limits.maxHeaderBytes")
            guard bytes <= Int.max else { throw ConfigurationError("limits.maxHeaderBytes: too large") }
            limits.maxHeaderBytes = Int(bytes)
        }
        if let connections = section.maxConnections {
            if let maxConnections, maxConnections != connections {
                throw ConfigurationError("limits.maxConnections: \(connections) disagrees with maxConnections: \(maxConnections) (set one)")
            }
            maxConnections = connections
        }
        if let streams = section.maxConcurrentStreams { limits.maxConcurrentStreams = streams }
        if let size = section.maxUploadBytes { limits.maxUploadBytes = try size.value("limits.maxUploadBytes") }
    }

    /// Checks the limits: every one above zero.
    func validateLimits() throws(ConfigurationError) {
        guard limits.headerTimeoutSeconds > 0 else { throw ConfigurationError("limits.headerTimeoutSeconds: must be above zero") }
        guard limits.idleTimeoutSeconds > 0 else { throw ConfigurationError("limits.idleTimeoutSeconds: must be above zero") }
        guard limits.maxHeaderBytes > 0 else { throw ConfigurationError("limits.maxHeaderBytes: must be above zero") }
        guard limits.maxConcurrentStreams > 0 else { throw ConfigurationError("limits.maxConcurrentStreams: must be above zero") }
        if let bytes = limits.maxUploadBytes, bytes <= 0 { throw ConfigurationError("limits.maxUploadBytes: must be above zero") }
    }
}
