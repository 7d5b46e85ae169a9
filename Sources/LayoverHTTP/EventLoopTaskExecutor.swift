import NIOCore

/// Runs a task's jobs on one event loop, so that a request answered from the store is answered
/// on its connection's thread: no hop to Swift's global executor and back for the write, two
/// thread wake-ups fewer per request. Only for work that never blocks (see
/// `RequestDispatch.staysOnEventLoop`); default actors met on the way run here too.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
