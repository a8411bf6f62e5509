import Foundation
import Synchronization

/// The one signal policy of every command that records or replays: SIGINT (Ctrl-C), SIGTERM and
/// SIGHUP (a closed terminal, a dropped SSH session) ask the run to stop at its next sample, so
/// that every output it writes is finished (a transcript to its last event, a session with its
/// summary, the report); a second such signal exits at once, as ffmpeg does. SIGPIPE is ignored,
/// so that a closed pipe is an error a write reports instead of a silent death.
public enum StopSignal {
    private static let received = Atomic<Int32>(0)
    /// Set while a terminal view is drawn: the bytes that restore the screen, and the terminal
    /// mode to put back, so that a second signal, which exits at once, still leaves the terminal
    /// as it was (both are async-signal-safe: `write` and `tcsetattr`).
    private static let restoring = Atomic<Bool>(false)
    nonisolated(unsafe) private static var restoreBytes: UnsafeMutableRawBufferPointer?
    nonisolated(unsafe) private static var restoreMode: UnsafeMutablePointer<termios>?

    /// Installs the handlers. Call once, before the run starts.
    public static func install() {
        _ = received.load(ordering: .relaxed)  // initialised here, never first inside a handler
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { sig in
                let (exchanged, _) = StopSignal.received.compareExchange(expected: 0, desired: sig, ordering: .relaxed)
                guard !exchanged else { return }
                if StopSignal.restoring.load(ordering: .acquiring) {
                    if let bytes = StopSignal.restoreBytes { _ = write(STDOUT_FILENO, bytes.baseAddress, bytes.count) }
                    if let mode = StopSignal.restoreMode { _ = tcsetattr(STDIN_FILENO, TCSANOW, mode) }
                }
                _exit(128 + sig)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(sig, &action, nil)
        }
        signal(SIGPIPE, SIG_IGN)
    }

    /// Registers what puts the terminal back (the escape bytes for standard output, the saved
    /// mode for standard input, if it was changed), for an exit that cannot wait; nil when the
    /// terminal is restored.
    public static func restoreTerminal(with bytes: [UInt8]?, mode: termios?) {
        restoring.store(false, ordering: .releasing)
        restoreBytes?.deallocate(); restoreBytes = nil
        restoreMode?.deallocate(); restoreMode = nil
        guard let bytes else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        buffer.copyBytes(from: bytes)
        restoreBytes = buffer
        if let mode {
            restoreMode = UnsafeMutablePointer<termios>.allocate(capacity: 1)
            restoreMode!.initialize(to: mode)
        }
        restoring.store(true, ordering: .releasing)
    }

    /// True once a stop signal has arrived.
    public static var requested: Bool { received.load(ordering: .relaxed) != 0 }

    /// The signal that asked the run to stop, if one did.
    public static var signalNumber: Int32? {
        let sig = received.load(ordering: .relaxed)
        return sig == 0 ? nil : sig
    }

    /// The shell's status for a run ended by that signal: 128 plus its number (130 for SIGINT).
    public static var exitStatus: Int32? { signalNumber.map { 128 + $0 } }

    /// The signal's name, for a person: "SIGINT".
    public static var signalName: String? {
        switch signalNumber {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        case let other?: return "signal \(other)"
        case nil: return nil
        }
    }
}
