// A correct program that ThreadSanitizer may report as a data race: a task awaits an
// UnsafeContinuation that another thread resumes, then goes on with async work whose frames the
// task allocator places in the memory the continuation's context used (as FileChunks.next()
// does, awaiting each write of an upload to a NIO channel). swiftlang/swift#57803 (SR-15498).
//
//   swiftc -sanitize=thread -Onone -parse-as-library loadtests/sanitize-cases/continuation-reuse.swift -o /tmp/continuation-reuse
//   /tmp/continuation-reuse
//
// When the resume runs before the task has finished suspending, the task is not enqueued again:
// it learns of the resume from an atomic status word in the continuation's context, in the
// uninstrumented concurrency runtime. ThreadSanitizer sees neither that word nor the task
// allocator (a per-task slab, not malloc), so the resumer's accesses to the context and the
// task's later writes to the same bytes have no edge between them in its eyes.
#if canImport(Glibc)
import Glibc
#endif

final class Resumer: @unchecked Sendable {
    var mutex = pthread_mutex_t()
    var pending: UnsafeContinuation<Int, Never>?
    init() { pthread_mutex_init(&mutex, nil) }

    func offer(_ continuation: UnsafeContinuation<Int, Never>) {
        pthread_mutex_lock(&mutex); pending = continuation; pthread_mutex_unlock(&mutex)
    }

    /// On its own thread: resumes whatever is offered.
    func serve(rounds: Int) {
        var done = 0
        while done < rounds {
            pthread_mutex_lock(&mutex)
            let continuation = pending
            pending = nil
            pthread_mutex_unlock(&mutex)
            guard let continuation else { sched_yield(); continue }
            continuation.resume(returning: done)
            done += 1
        }
    }
}

/// Async work with a frame of its own that writes its locals.
@inline(never)
func chunk(_ index: Int) async -> Int {
    var buffer = (index, index &* 3, index &* 7, index &* 11, index &* 13, index &* 17, index &* 19, index &* 23)
    await Task.yield()
    buffer.0 &+= buffer.7
    return buffer.0 &+ buffer.1 &+ buffer.2 &+ buffer.3 &+ buffer.4 &+ buffer.5 &+ buffer.6
}

@main
struct Main {
    static func main() async {
        let rounds = 20_000
        let resumer = Resumer()
        var thread = pthread_t()
        let box = Unmanaged.passRetained(resumer).toOpaque()
        pthread_create(&thread, nil, { context in
            Unmanaged<Resumer>.fromOpaque(context!).takeRetainedValue().serve(rounds: 20_000)
            return nil
        }, box)
        var sum = 0
        for _ in 0..<rounds {
            sum &+= await withUnsafeContinuation { resumer.offer($0) }
            sum &+= await chunk(sum)
        }
        pthread_join(thread, nil)
        print("done", sum)
    }
}
