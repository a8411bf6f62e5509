import CVisorSched
import Foundation
import Synchronization

/// A named thread that can be joined: `join()` returns once its body has returned. The one way
/// Visor starts a thread of its own (a worker, a pacer, a device reader), so that no caller
/// polls `Thread.isFinished`.
public final class WorkerThread: Sendable {
    private let done = DispatchSemaphore(value: 0)

    /// Starts `body` on a new thread named `name`, `niceness` below the thread that starts it
    /// (0: as it; more: a lower priority, so that the thread yields its core to the frame path).
    public init(name: String, niceness: Int32 = 0, _ body: @escaping @Sendable () -> Void) {
        let done = self.done
        let handleStored = DispatchSemaphore(value: 0)
        let thread = Thread {
            // Named from inside, once `start()` has returned: Foundation on Linux names the OS
            // thread only through the handle the parent stores as it starts it, and a new thread
            // that outran the parent kept the process's name (a test saw it in 3 runs of 5).
            handleStored.wait()
            Thread.current.name = name
            if niceness > 0 {
                WorkerThread.lowerPriority(niceness)
                // The default slice, not the frame path's short one (a thread inherits it).
                WorkerThread.restoreDefaultSlice()
            }
            body()
            done.signal()
        }
        thread.name = name
        thread.start()
        handleStored.signal()
    }

    /// Lowers the calling thread's priority by `niceness` (to at most 19). Linux keeps a nice
    /// value per thread, `setpriority` of "process" 0 is the calling thread's, and the threads
    /// it starts inherit it. A thread may always lower its own priority: no privilege needed.
    public static func lowerPriority(_ niceness: Int32) {
        let target = min(19, Self.niceness + niceness)
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, target)
        #else
        _ = setpriority(PRIO_PROCESS, 0, target)
        #endif
    }

    /// Asks Linux's fair scheduler for a short time slice for the calling thread (and the
    /// threads it starts after): on a shared core, a thread that wakes with a shorter slice than
    /// the thread running there preempts it sooner (EEVDF, Linux 6.12 and later; no privilege
    /// needed). The frame path's thread asks for one so that a frame waits less for the slow
    /// stages' threads. Returns false where the kernel does not take a slice.
    @discardableResult
    public static func requestShortSlice(nanoseconds: UInt64 = WorkerThread.frameSliceNanoseconds) -> Bool {
        #if os(Linux)
        return visor_request_slice(nanoseconds) == 0
        #else
        return false
        #endif
    }

    /// Gives the calling thread (and the threads it starts after) the kernel's default time slice
    /// again.
    public static func restoreDefaultSlice() {
        #if os(Linux)
        _ = visor_request_slice(0)
        #endif
    }

    /// The calling thread's time slice, in nanoseconds; 0 where the kernel does not say.
    public static var sliceNanoseconds: UInt64 {
        #if os(Linux)
        return visor_current_slice()
        #else
        return 0
        #endif
    }

    /// The slice the frame path's thread asks for.
    public static let frameSliceNanoseconds: UInt64 = 300_000

    /// The calling thread's nice value.
    public static var niceness: Int32 {
        #if os(Linux)
        return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        #else
        return getpriority(PRIO_PROCESS, 0)
        #endif
    }

    /// Waits until the body has returned; returns at once after that, however often called.
    public func join() {
        done.wait()
        done.signal()
    }

    /// Whether the body has returned (without waiting).
    public var hasFinished: Bool { join(timeoutSeconds: 0) }

    /// Waits at most `seconds`; true when the body has returned.
    public func join(timeoutSeconds seconds: Double) -> Bool {
        guard done.wait(timeout: .now() + seconds) == .success else { return false }
        done.signal()
        return true
    }
}

/// A value that threads share, behind a `Mutex`: what a thread's closure can capture (a `Mutex`
/// itself cannot be, being non-copyable).
public final class Locked<Value>: Sendable {
    private let mutex: Mutex<Value>
    public init(_ value: sending Value) { mutex = Mutex(value) }
    public func withLock<T>(_ body: (inout sending Value) throws -> sending T) rethrows -> sending T { try mutex.withLock(body) }
}

extension Locked where Value: Sendable {
    public var value: Value { mutex.withLock { $0 } }
}
