import Foundation
import Synchronization

/// A named thread that can be joined: `join()` returns once its body has returned. The one way
/// Visor starts a thread of its own (a worker, a pacer, a device reader), so that no caller
/// polls `Thread.isFinished`.
public final class WorkerThread: Sendable {
    private let done = DispatchSemaphore(value: 0)

    /// Starts `body` on a new thread named `name`.
    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        let done = self.done
        let handleStored = DispatchSemaphore(value: 0)
        let thread = Thread {
            // Named from inside, once `start()` has returned: Foundation on Linux names the OS
            // thread only through the handle the parent stores as it starts it, and a new thread
            // that outran the parent kept the process's name (a test saw it in 3 runs of 5).
            handleStored.wait()
            Thread.current.name = name
            body()
            done.signal()
        }
        thread.name = name
        thread.start()
        handleStored.signal()
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
