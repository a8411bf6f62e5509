import VisorCore

/// What the heads-up display shows on one frame: for now, one status line.
public struct HUDState: Equatable, Sendable {
    public var lines: [String]
    public init(lines: [String]) { self.lines = lines }
}

/// Composes the HUD from what the pipeline knows about the frame.
public enum HUDComposer {
    /// The first HUD line: the time, and the light level with a word for it.
    /// - Parameters:
    ///   - sessionTimeNanoseconds: time since the session began.
    ///   - wallClockNanoseconds: capture time as Unix time when the session has one.
    public static func compose(sessionTimeNanoseconds: UInt64, wallClockNanoseconds: UInt64?, lightLevel: Double) -> HUDState {
        let time: String
        if let wall = wallClockNanoseconds {
            let secondsOfDay = (wall / 1_000_000_000) % 86_400
            time = String(format2(Int(secondsOfDay / 3600))) + ":" + format2(Int(secondsOfDay / 60 % 60)) + ":" + format2(Int(secondsOfDay % 60))
        } else {
            time = formatSessionTime(sessionTimeNanoseconds)
        }
        let percent = Int((lightLevel * 100).rounded())
        return HUDState(lines: ["\(time)  light \(percent)% \(lightWord(lightLevel))"])
    }

    /// A word for the light level, with the thresholds a wearer would feel.
    public static func lightWord(_ level: Double) -> String {
        switch level {
        case ..<0.12: return "dark"
        case ..<0.3: return "dim"
        case ..<0.75: return "good"
        default: return "bright"
        }
    }

    private static func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
