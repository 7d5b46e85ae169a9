// A correct program that ThreadSanitizer reports as a data race: the pattern of SwiftNIO's
// NIOPooledRecvBufferAllocator, which reuses a receive buffer (ByteBuffer's reallocStorage writes
// its storage's fields) once `isKnownUniquelyReferenced` says the last reader (Layover's
// UploadSession.append, on another thread) let go of it.
//
//   swiftc -sanitize=thread -Onone -parse-as-library loadtests/sanitize-cases/unique-reuse.swift -o /tmp/unique-reuse
//   /tmp/unique-reuse     # "WARNING: ThreadSanitizer: data race": the owner's write of the field
//                         # against the reader's earlier read of it
//
// The reader reads the field, then drops its reference (swift_release: an atomic decrement with
// release order); the owner sees the count at one (swift_isUniquelyReferenced: a load with
// consume/acquire order) and only then writes. That is a happens-before edge, but both atomics
// run inside the Swift runtime, which is not instrumented, so ThreadSanitizer never sees it. The
// hand-over itself goes through a pthread mutex, which it does see.
#if canImport(Glibc)
import Glibc
#endif

final class Storage {
    var bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: 4096)
    deinit { bytes.deallocate() }
}

final class Slot: @unchecked Sendable {
    var mutex = pthread_mutex_t()
    var value: Storage?
    init() { pthread_mutex_init(&mutex, nil) }
    func put(_ storage: Storage) { pthread_mutex_lock(&mutex); value = storage; pthread_mutex_unlock(&mutex) }
    func take() -> Storage? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        defer { value = nil }
        return value
    }
}

@main
struct Main {
    static func main() {
        let rounds = 1_000
        let slot = Slot()
        var reader = pthread_t()
        pthread_create(&reader, nil, { context in
            let slot = Unmanaged<Slot>.fromOpaque(context!).takeUnretainedValue()
            var sum = 0
            var seen = 0
            while seen < 1_000 {
                guard let storage = slot.take() else { sched_yield(); continue }
                sum &+= Int(storage.bytes[0])  // the read: of the field, then of the bytes
                seen += 1
                // `storage` is released here.
            }
            print("reader done", sum)
            return nil
        }, Unmanaged.passUnretained(slot).toOpaque())

        var storage = Storage()
        for round in 0..<rounds {
            while !isKnownUniquelyReferenced(&storage) { sched_yield() }
            let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: 4096)
            fresh.update(repeating: UInt8(truncatingIfNeeded: round), count: 4096)
            storage.bytes.deallocate()
            storage.bytes = fresh  // the write: the field, as ByteBuffer's reallocStorage does
            slot.put(storage)
        }
        while !isKnownUniquelyReferenced(&storage) { sched_yield() }
        pthread_join(reader, nil)
        withExtendedLifetime(slot) {}
    }
}
