import Dispatch
import Foundation
import Logging
import VisorCore
import VisorDisplay
import VisorMedia
import VisorSession

/// How fast a replay runs against recorded time.
public enum ReplaySpeed: Equatable, Sendable, CustomStringConvertible {
    /// As fast as the machine goes.
    case max
    /// Recorded time divided by this factor (1 is real time).
    case times(Double)

    public var description: String {
        switch self {
        case .max: return "max"
        case .times(let f): return f == f.rounded() ? "\(Int(f))x" : "\(f)x"
        }
    }
}

public struct ReplayOptions {
    public var speed: ReplaySpeed = .max
    public var transcriptPath: String?
    /// Where the view is drawn; nil runs headless.
    public var terminal: ReplayTerminal?
    public init() {}
}

/// The terminal a replay draws into: how big it is now, and where its bytes go. The command line
/// supplies both, so that the runtime never writes to the terminal itself.
public struct ReplayTerminal {
    public var size: () -> TerminalSize
    public var write: (UnsafeRawBufferPointer) -> Void
    public init(size: @escaping () -> TerminalSize, write: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.size = size
        self.write = write
    }
}

/// What a replay did, and how long each part took.
public struct ReplayResult {
    public var sessionPath: String
    public var frames: Int
    public var audioBlocks: Int
    /// Capture time of the last sample processed, since the session began.
    public var lastSampleTimeNanoseconds: UInt64
    public var metrics: LatencyMetrics
    /// Set when the session ended early (truncated): where reading stopped and why.
    public var damage: MCAPDamage?
    public var corruptChunks: [MCAPDamage]
    /// True when the run was stopped (Ctrl-C) before the end of the session.
    public var stopped: Bool
}

/// Replays a session through the fast stages (convert to the working pixel format, light level,
/// HUD composition, terminal encoding), timing each stage and the path from capture to HUD.
public final class ReplayRunner {
    public static let stageNames = ["convert", "light", "hud", "terminal"]

    private let source: SessionSource
    private let options: ReplayOptions
    private let encoder = TerminalFrameEncoder()
    private let logger = Logger(label: "visor.replay")

    public init(source: SessionSource, options: ReplayOptions) {
        self.source = source
        self.options = options
    }

    /// Runs to the end of the session, or until `shouldStop` returns true.
    /// - Throws: `VisorError` when a message cannot be decoded or the transcript cannot be written.
    public func run(shouldStop: () -> Bool = { false }) throws -> ReplayResult {
        let transcript = try options.transcriptPath.map { try TranscriptWriter(path: $0) }
        var metrics = LatencyMetrics()
        var frames = 0, audioBlocks = 0
        var lastTime: UInt64 = 0
        var stopped = false
        let start = source.startTimeNanoseconds
        let wallStart = DispatchTime.now().uptimeNanoseconds
        let hasWallClock = start > 1_000_000_000 * 978_307_200  // after 2001: log times are Unix time
        let cameraTotal = source.cameraMessageCount
        var messages = source.messages()
        defer { try? transcript?.close() }

        while let message = messages.next() {
            if shouldStop() { stopped = true; break }
            let sessionTime = message.logTime &- start
            if case .times(let factor) = options.speed {
                let due = wallStart + UInt64(Double(sessionTime) / factor)
                while DispatchTime.now().uptimeNanoseconds < due {
                    if shouldStop() { stopped = true; break }
                    usleep(UInt32(min(10_000, (due - DispatchTime.now().uptimeNanoseconds) / 1000 + 1)))
                }
                if stopped { break }
            }
            let arrival = DispatchTime.now().uptimeNanoseconds
            let sample = try source.decode(message)
            guard case .frame(let frame) = sample else {
                audioBlocks += 1
                lastTime = max(lastTime, sessionTime)
                continue
            }
            let converted = DispatchTime.now().uptimeNanoseconds
            metrics.record("convert", nanoseconds: converted - arrival)

            let light = LightMeter.lightLevel(of: frame)
            let measured = DispatchTime.now().uptimeNanoseconds
            metrics.record("light", nanoseconds: measured - converted)

            let hud = HUDComposer.compose(sessionTimeNanoseconds: sessionTime,
                                          wallClockNanoseconds: hasWallClock ? message.logTime : nil, lightLevel: light)
            let composed = DispatchTime.now().uptimeNanoseconds
            metrics.record("hud", nanoseconds: composed - measured)
            metrics.record("capture_to_hud", nanoseconds: composed - arrival)

            if let terminal = options.terminal {
                let size = terminal.size()
                let view = TerminalFrameEncoder.viewSize(frameWidth: frame.widthPixels, frameHeight: frame.heightPixels,
                                                         maxColumns: size.columns, maxRows: max(1, size.rows - 1))
                encoder.encode(frame, view: view, hudLines: hud.lines)
                let status = "\u{1B}[0m\u{1B}[2K frame \(frames + 1)/\(cameraTotal)  \(formatSessionTime(sessionTime))  speed \(options.speed)  q or Ctrl-C quits"
                var bytes = encoder.output
                bytes.append(contentsOf: status.utf8)
                let encoded = DispatchTime.now().uptimeNanoseconds
                metrics.record("terminal", nanoseconds: encoded - composed)
                bytes.withUnsafeBytes { terminal.write($0) }
            }

            try transcript?.event(timeNanoseconds: sessionTime, kind: "frame", [
                "index": .int(Int64(frames)), "width": .int(Int64(frame.widthPixels)),
                "height": .int(Int64(frame.heightPixels)), "light": .fixed(light, decimals: 3),
            ])
            frames += 1
            lastTime = max(lastTime, sessionTime)
        }
        let damage = source.reader.damage
        if let damage, !stopped {
            try transcript?.event(timeNanoseconds: lastTime, kind: "truncated", ["offset": .int(Int64(damage.offset))])
        }
        logger.info("replayed \(frames) frames, \(audioBlocks) audio blocks")
        return ReplayResult(sessionPath: source.reader.path, frames: frames, audioBlocks: audioBlocks,
                            lastSampleTimeNanoseconds: lastTime, metrics: metrics, damage: damage,
                            corruptChunks: source.reader.corruptChunks, stopped: stopped)
    }
}
