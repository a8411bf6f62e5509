import Foundation

/// A named thread that can be joined: `join()` returns once its body has returned. The one way
/// Visor starts a thread of its own (a worker, a pacer, a device reader), so that no caller
/// polls `Thread.isFinished`.
public final class WorkerThread: Sendable {
    private let done = DispatchSemaphore(value: 0)

    /// Starts `body` on a new thread named `name`.
    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        let done = self.done
        let thread = Thread {
            body()
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Waits until the body has returned; returns at once after that, however often called.
    public func join() {
        done.wait()
        done.signal()
    }

    /// Waits at most `seconds`; true when the body has returned.
    public func join(timeoutSeconds seconds: Double) -> Bool {
        guard done.wait(timeout: .now() + seconds) == .success else { return false }
        done.signal()
        return true
    }
}
