import Foundation

/// CPU time and memory of a running process, read from /proc.
struct ProcessReading {
    /// User plus system CPU seconds used so far by the process and its live children (nginx's
    /// workers under its master).
    static func cpuSeconds(_ pid: Int32) -> Double {
        ([pid] + children(of: pid)).map(ownCPUSeconds).reduce(0, +)
    }

    /// System CPU seconds (in the kernel on its behalf) used so far by the process alone.
    static func systemCPUSeconds(_ pid: Int32) -> Double {
        guard let fields = statFields(pid), fields.count > 12, let system = Double(fields[12]) else { return 0 }
        return system / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// User plus system CPU seconds used so far by the process's threads (not its children).
    static func ownCPUSeconds(_ pid: Int32) -> Double {
        guard let fields = statFields(pid), fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The fields of `/proc/PID/stat` after the command: state(0) ppid(1) … utime(11) stime(12),
    /// times in clock ticks.
    private static func statFields(_ pid: Int32) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ")
    }

    /// The live processes whose parent is `pid`.
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { statFields($0)?.dropFirst().first == Substring(String(pid)) }
    }

    /// Bytes the process has caused to be written to storage so far (`write_bytes` of
    /// `/proc/PID/io`: counted as its writes dirty the page cache, whoever writes them back).
    static func writtenBytes(_ pid: Int32) -> Double {
        guard let io = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8),
              let line = io.split(separator: "\n").first(where: { $0.hasPrefix("write_bytes:") }),
              let bytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return .nan }
        return bytes
    }

    /// The peak resident set size since the process started (VmHWM), in MiB; with live children
    /// (nginx's workers), the sum of their peaks and the process's.
    static func peakRSSMiB(_ pid: Int32) -> Double {
        ([pid] + children(of: pid)).map { statusMiB($0, "VmHWM:") }.reduce(0, +)
    }

    /// The resident set size now (VmRSS), in MiB.
    static func rssMiB(_ pid: Int32) -> Double { statusMiB(pid, "VmRSS:") }

    private static func statusMiB(_ pid: Int32, _ field: String) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
              let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kib / 1024
    }
}
