import Foundation
import LayoverWire
@testable import LayoverStore
import LayoverLocks

/// A clock the test moves by hand (seconds since 1970).
final class ManualClock: Sendable {
    private let time: Locked<Double>

    init(_ start: Double = 1_000) { time = Locked(start) }

    var now: Double { time.withLock { $0 } }
    func set(_ value: Double) { time.withLock { $0 = value } }
    var function: @Sendable () -> Double { { [self] in now } }
}

/// A unique directory under /tmp, removed when the test's suite instance goes away.
final class ScratchDirectory {
    let path: String

    init() {
        path = "/tmp/layover-store-tests-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Regular files below `relative`, as paths relative to it, sorted.
    func files(under relative: String) -> [String] {
        let root = path + "/" + relative
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return [] }
        var found: [String] = []
        while let name = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                found.append(name)
            }
        }
        return found.sorted()
    }
}

/// Distinct content of `count` bytes for each `seed`.
func content(_ count: Int, seed: UInt8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ seed }
}

let plentyOfDisk: @Sendable (String) -> Int64? = { _ in 1 << 40 }

/// A value shared with `@Sendable` closures.
final class Locked<Value: Sendable>: Sendable {
    private let value: LayoverLocks.Locked<Value>

    init(_ value: Value) { self.value = LayoverLocks.Locked(value) }

    func withLock<T>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
}
