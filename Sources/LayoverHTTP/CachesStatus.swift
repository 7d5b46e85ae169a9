import Foundation
import LayoverStore

/// What `/_layover/caches` answers and `layover caches` prints: every BuildKit cache this node
/// has seen since it started, most recently active first (see `CacheLedger`).
public struct CachesStatus: Codable, Sendable, Equatable {
    public var caches: [CacheLedger.Entry]

    public init(caches: [CacheLedger.Entry]) {
        self.caches = caches
    }

    /// The JSON the admin endpoint answers with (sorted keys, stable for scripts).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
