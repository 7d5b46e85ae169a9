#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit, raised as nginx (`worker_rlimit_nofile`) and Go do: containers
/// start with a soft limit of 1024 however high the hard one is.
enum FileLimit {
    /// Raises the soft limit to the hard limit; returns the soft limit before and after, and the hard one.
    static func raise() -> (before: UInt64, after: UInt64, hard: UInt64) {
        var limit = rlimit()
        guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return (0, 0, 0) }
        let before = UInt64(limit.rlim_cur)
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(RLIMIT_NOFILE_VALUE, &raised) == 0 { limit = raised }
        }
        return (before, UInt64(limit.rlim_cur), UInt64(limit.rlim_max))
    }

    /// Connections to serve at once under a soft limit of `descriptors`: the rest stay free for the
    /// store, the index, upstream connections and health probes.
    static func defaultMaxConnections(descriptors: UInt64) -> Int {
        let descriptors = Int(min(descriptors, 1 << 20))
        return max(16, descriptors - max(64, descriptors / 8))
    }

    #if canImport(Glibc)
    private static let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
    #endif
}
