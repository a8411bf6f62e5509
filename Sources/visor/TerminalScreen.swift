import Foundation
import VisorCore
import VisorRuntime
import VisorDisplay

/// The terminal while a replay draws: alternate screen, hidden cursor and raw keys on `enter()`,
/// all restored on `leave()`.
final class TerminalScreen {
    private var saved = termios()
    private var rawMode = false

    /// Reads keys only, drawing nothing: raw keys without echo, the screen left as it is.
    private var keysOnly = false

    init(keysOnly: Bool = false) { self.keysOnly = keysOnly }

    func enter() {
        if isatty(STDIN_FILENO) == 1, tcgetattr(STDIN_FILENO, &saved) == 0 {
            var raw = saved
            raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
            withUnsafeMutableBytes(of: &raw.c_cc) { cc in
                cc[Int(VMIN)] = 0
                cc[Int(VTIME)] = 0
            }
            rawMode = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0
        }
        // Keys alone (while recording): nothing drawn to undo; a second Ctrl-C's exit puts the
        // keyboard mode back.
        if keysOnly {
            if rawMode { StopSignal.restoreTerminal(with: [], mode: saved) }
            return
        }
        writeString("\u{1B}[?1049h\u{1B}[?25l\u{1B}[2J")
        // A second Ctrl-C exits at once: it puts the terminal back first.
        StopSignal.restoreTerminal(with: Array(Self.restoreSequence.utf8), mode: rawMode ? saved : nil)
    }

    private static let restoreSequence = "\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l"

    func leave() {
        if !keysOnly { writeString(Self.restoreSequence) }
        if rawMode { tcsetattr(STDIN_FILENO, TCSANOW, &saved); rawMode = false }
        StopSignal.restoreTerminal(with: nil, mode: nil)
    }

    func size() -> TerminalSize {
        var ws = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0, ws.ws_row > 0 {
            return TerminalSize(columns: Int(ws.ws_col), rows: Int(ws.ws_row))
        }
        return TerminalSize(columns: 80, rows: 24)
    }

    /// True when `q` was typed since the last call (other keys are dropped).
    func quitKeyPressed() -> Bool { keys().contains(.quit) }

    /// The keys typed since the last call: space, the right arrow (ESC [ C), h, d, q.
    func keys() -> [TerminalKey] {
        guard rawMode else { return [] }
        var keys: [TerminalKey] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = read(STDIN_FILENO, &buffer, buffer.count)
        guard n > 0 else { return [] }
        var i = 0
        while i < n {
            switch buffer[i] {
            case UInt8(ascii: " "): keys.append(.pause)
            case UInt8(ascii: "h"), UInt8(ascii: "H"): keys.append(.toggleHUD)
            case UInt8(ascii: "d"), UInt8(ascii: "D"): keys.append(.toggleDetections)
            case UInt8(ascii: "q"), UInt8(ascii: "Q"): keys.append(.quit)
            case 0x1B where i + 2 < n && buffer[i + 1] == UInt8(ascii: "[") && buffer[i + 2] == UInt8(ascii: "C"):
                keys.append(.step); i += 2
            case 0x1B where i + 2 < n && buffer[i + 1] == UInt8(ascii: "["):
                i += 2  // another arrow or function key: not a swipe
            case 0x1B where i + 1 < n:
                i += 1  // Alt and a key: not a control
            default:
                if let control = TerminalKey.control(buffer[i]) { keys.append(.input(control)) }
            }
            i += 1
        }
        return keys
    }

    /// Shows a line at once on the screen's last row, in reverse video, over whatever is drawn.
    func alert(_ line: String) {
        let rows = size().rows, columns = size().columns
        let text = String(line.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(max(1, columns - 1)).map(Character.init))
        writeString("\u{1B}7\u{1B}[\(rows);1H\u{1B}[0m\u{1B}[2K\u{1B}[7m\(text)\u{1B}[0m\u{1B}8")
    }

    func write(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let n = Foundation.write(STDOUT_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if n <= 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }

    private func writeString(_ s: String) {
        Array(s.utf8).withUnsafeBytes { write($0) }
    }
}
