import Foundation

/// How much of the machine other processes keep busy: the CPU time the whole machine spent
/// (`/proc/stat`) less this process's own (`/proc/self/stat`), over the time since the last
/// reading, in cores. What a thread pool sizes itself by, rather than by the core count alone: two
/// threads that wait for each other on two cores, one of which another process keeps busy, run
/// slower than one thread alone.
public final class CoreLoad: @unchecked Sendable {
    /// Cores the machine has.
    public let cores: Int
    private let lock = NSLock()
    private var last: (machineBusy: UInt64, machineTotal: UInt64, own: UInt64)?
    private var estimate = 0.0

    public init() {
        cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        last = Self.read()
    }

    /// Cores other processes kept busy since the last call (or since `init`): 0 on a quiet
    /// machine, about 1 with one CPU-bound process beside this one. A call less than 50 ms after
    /// the last returns the last estimate (the kernel counts in ticks of 10 ms). Nil where
    /// `/proc` cannot be read.
    public func othersBusyCores() -> Double? {
        lock.lock()
        defer { lock.unlock() }
        guard let now = Self.read(), let before = last else { return nil }
        let total = now.machineTotal &- before.machineTotal
        // Ticks of the whole machine: 100 a second a core.
        guard total >= UInt64(5 * cores) else { return estimate }
        let busy = Double(now.machineBusy &- before.machineBusy), own = Double(now.own &- before.own)
        estimate = max(0, min(Double(cores), (busy - own) / Double(total) * Double(cores)))
        last = now
        return estimate
    }

    /// Threads worth running, at most `limit`: one for each core that others leave free, a core
    /// counted free when others use less than 0.3 of it; at least one.
    public static func threads(limit: Int, cores: Int, othersBusy: Double) -> Int {
        max(1, min(limit, Int((Double(cores) - othersBusy + 0.3).rounded(.down))))
    }

    /// Busy and total ticks of the machine (the `cpu` line of /proc/stat), and this process's
    /// user and system ticks.
    static func read() -> (machineBusy: UInt64, machineTotal: UInt64, own: UInt64)? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }),
              let mine = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = mine.lastIndex(of: ")") else { return nil }
        // user nice system idle iowait irq softirq steal
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 8 else { return nil }
        let idle = fields[3] + fields[4]
        let total = fields[0..<8].reduce(0, +)
        // After the command's closing parenthesis: state is field 3, utime 14 and stime 15.
        let own = mine[mine.index(after: close)...].split(separator: " ")
        guard own.count > 13, let user = UInt64(own[11]), let system = UInt64(own[12]) else { return nil }
        return (total - idle, total, user + system)
    }
}
