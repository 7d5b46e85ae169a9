import Foundation
import LayoverLocks

/// Starts the processes tests run so that none outlives the test process, however it ends
/// (a crash, a `kill -9`, a timeout killing it): on Linux each is started through util-linux's
/// `setpriv --pdeathsig KILL --`, which asks the kernel (`PR_SET_PDEATHSIG`) to SIGKILL it when
/// its parent dies, then executes the command itself (same pid, signals and exit status).
///
/// The kernel's "parent" is the *thread* that started the child, not the process: a child
/// started from a thread that later exits is killed then. Foundation's `Process.run` spawns
/// from the calling thread, and Swift concurrency's threads are Dispatch workers that exit
/// after idling, so every launch happens on one thread of our own that never exits. Launches
/// are serial there, which Foundation needs anyway (`Process.run` is not safe to call from
/// several threads at once: seen crashing in memcpy with a hundred concurrent launches).
///
/// Limit: a parent that dies in the moment between the spawn and `setpriv`'s `prctl` goes
/// unnoticed. Without `setpriv` (macOS) processes start as they are, unprotected.
public enum ProcessLauncher {
    /// Where util-linux's `setpriv` is; nil where there is none.
    public static let setpriv: String? = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Sets `process` up to run `executable` with `arguments` and starts it on the launch thread.
    /// Throws when `executable` cannot be run or the launch fails.
    public static func launch(_ process: Process, executable: String, arguments: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TestFailure("not an executable: \(executable)")
        }
        if let setpriv {
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        try LaunchThread.shared.run { try process.run() }
    }
}

/// One thread, started once and never ended, that runs launches one at a time.
private final class LaunchThread: @unchecked Sendable {
    static let shared = LaunchThread()

    private typealias Job = () -> Void
    /// Jobs waiting, under `condition`.
    private var jobs: [Job] = []
    private let condition = NSCondition()

    private init() {
        let thread = Thread { [unowned self] in self.serve() }
        thread.name = "test process launcher"
        thread.start()
    }

    /// Runs `body` on the launch thread; returns (or throws) once it has.
    func run(_ body: @escaping () throws -> Void) throws {
        let outcome = Locked<Result<Void, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        jobs.append {
            let result = Result { try body() }
            outcome.withLock { $0 = result }
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        try outcome.withLock { $0! }.get()
    }

    private func serve() -> Never {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
