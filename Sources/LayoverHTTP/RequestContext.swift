import Logging
import NIOHTTP1
import Synchronization

/// What every log line written while serving one request carries: its id (the client's
/// `X-Request-Id` when sane, else a fresh one), bound to the request's task.
public struct RequestContext: Sendable {
    /// The request's id, echoed in the `X-Request-Id` answer header.
    public var id: String

    /// The context of the request the current task serves, if any.
    @TaskLocal public static var current: RequestContext?

    /// Adds `request_id` to every log line written under a request's task. Install it with
    /// `LoggingSystem.bootstrap(_:metadataProvider:)`.
    public static let metadataProvider = Logger.MetadataProvider {
        guard let context = current else { return [:] }
        return ["request_id": "\(context.id)"]
    }

    /// The client's id when it is 1–64 characters of letters, digits, `-`, `_` or `.`; else a new one.
    static func id(from headers: HTTPHeaders) -> String {
        if let given = headers.first(name: "x-request-id"), (1...64).contains(given.utf8.count),
           given.utf8.allSatisfy({ $0.isIDCharacter }) {
            return given
        }
        return freshID()
    }

    /// Unique within the process and different from one start to the next, without asking the
    /// kernel for randomness on every request: a counter, multiplied by an odd constant (a
    /// bijection, so no two counts collide) and offset by a random base. Not a secret.
    static func freshID() -> String {
        let count = idCounter.wrappingAdd(1, ordering: .relaxed).newValue
        return String(idBase &+ count &* 0x9E37_79B9_7F4A_7C15, radix: 16, uppercase: false)
    }

    private static let idBase = UInt64.random(in: 0...UInt64.max)
    private static let idCounter = Atomic<UInt64>(0)
}

private extension UInt8 {
    var isIDCharacter: Bool {
        (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self)
            || self == 0x2D || self == 0x5F || self == 0x2E
    }
}
