import VisorCore

/// What the heads-up display shows on one frame: lines of ASCII text, in buffers that are reused
/// from frame to frame.
public struct HUDState: Sendable {
    public var lines: [[UInt8]]
    public var lineCount: Int

    public init(capacityLines: Int = 4) {
        lines = (0..<capacityLines).map { _ in
            var line = [UInt8]()
            line.reserveCapacity(128)
            return line
        }
        lineCount = 0
    }

    /// The lines as text (for tests and logs; allocates).
    public var text: [String] { lines.prefix(lineCount).map { String(decoding: $0, as: UTF8.self) } }
}

/// Composes the HUD from what the pipeline knows.
public enum HUDComposer {
    /// The first HUD line: the time, and the light level with a word for it.
    /// - Parameters:
    ///   - sessionTimeNanoseconds: time since the session began, shown when there is no wall clock.
    ///   - wallClockNanoseconds: capture time as Unix time when the session has one.
    public static func compose(into hud: inout HUDState, sessionTimeNanoseconds: UInt64, wallClockNanoseconds: UInt64?,
                               scene: SceneContext) {
        hud.lines[0].removeAll(keepingCapacity: true)
        if let wall = wallClockNanoseconds {
            ByteText.appendTimeOfDay(wall, to: &hud.lines[0])
        } else {
            ByteText.appendSessionClock(sessionTimeNanoseconds, to: &hud.lines[0])
        }
        ByteText.append("  light ", to: &hud.lines[0])
        ByteText.append(Int((scene.lightLevel * 100).rounded()), to: &hud.lines[0])
        ByteText.append("% ", to: &hud.lines[0])
        ByteText.append(lightWord(scene.lightLevel), to: &hud.lines[0])
        hud.lineCount = 1
        // The assistant's overlays, highest priority first (newest first among equals), each on a
        // line the renderer wraps into the text area. While any is up, it replaces what was heard.
        var previous: OverlayItem?
        while hud.lineCount < hud.lines.count {
            var best: OverlayItem?
            for item in scene.overlays where item.shownAtNanoseconds <= sessionTimeNanoseconds && sessionTimeNanoseconds < item.expiresAtNanoseconds {
                if let p = previous, !HUDComposer.ranks(p, before: item) || p.id == item.id { continue }
                if best == nil || HUDComposer.ranks(item, before: best!) { best = item }
            }
            guard let chosen = best else { break }
            let line = hud.lineCount
            hud.lines[line].removeAll(keepingCapacity: true)
            for byte in chosen.text.utf8.prefix(200) { hud.lines[line].append(byte >= 0x20 && byte < 0x7F ? byte : UInt8(ascii: "?")) }
            hud.lineCount += 1
            previous = chosen
        }
        if hud.lineCount > 1 { return }
        if let code = scene.codes.first, hud.lines.count > 1 {
            hud.lines[1].removeAll(keepingCapacity: true)
            ByteText.append("code ", to: &hud.lines[1])
            // Payloads are the sender's text: only printable ASCII reaches the terminal.
            for byte in code.payload.utf8.prefix(60) { hud.lines[1].append(byte >= 0x20 && byte < 0x7F ? byte : UInt8(ascii: "?")) }
            hud.lineCount = 2
        }
        // What was last heard, for four seconds after it ended.
        if let heard = scene.heard.last, sessionTimeNanoseconds < heard.endNanoseconds &+ 4_000_000_000,
           sessionTimeNanoseconds >= heard.startNanoseconds, hud.lines.count > hud.lineCount {
            let line = hud.lineCount
            hud.lines[line].removeAll(keepingCapacity: true)
            switch heard.kind {
            case .wake: ByteText.append("listening...", to: &hud.lines[line])
            case .command: ByteText.append("> ", to: &hud.lines[line]); hud.lines[line].append(contentsOf: heard.label.utf8.prefix(40))
            case .utterance: ByteText.append("\"", to: &hud.lines[line])
            }
            if heard.kind != .wake && !heard.words.isEmpty {
                if heard.kind == .command { ByteText.append(": ", to: &hud.lines[line]) }
                for byte in heard.words.utf8.prefix(60) { hud.lines[line].append(byte >= 0x20 && byte < 0x7F ? byte : UInt8(ascii: "?")) }
                if heard.kind == .utterance { hud.lines[line].append(UInt8(ascii: "\"")) }
            }
            hud.lineCount = line + 1
        }
    }

    /// Overlay order: higher priority first, then newer, then larger id.
    static func ranks(_ a: OverlayItem, before b: OverlayItem) -> Bool {
        (a.priority.rawValue, a.shownAtNanoseconds, a.id) > (b.priority.rawValue, b.shownAtNanoseconds, b.id)
    }

    /// A word for the light level, with the thresholds a wearer would feel.
    public static func lightWord(_ level: Double) -> StaticString {
        switch level {
        case ..<0.12: return "dark"
        case ..<0.3: return "dim"
        case ..<0.75: return "good"
        default: return "bright"
        }
    }
}
