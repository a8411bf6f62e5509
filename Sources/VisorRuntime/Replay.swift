import Dispatch
import Foundation
import Logging
import VisorAssistant
import VisorCore
import VisorDisplay
import VisorMedia
import VisorPerception
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

/// How a run goes, whatever its source: the profile, the stages, scheduling, and what it writes.
public struct RunOptions {
    /// A session's pace against recorded time (devices deliver in real time).
    public var speed: ReplaySpeed = .max
    /// Deterministic scheduling of slow stages on the session's virtual clock (see `SchedulingMode`).
    public var deterministic = false
    public var workerThreads = 2
    public var profile: DeviceProfile
    /// The slow stages to run (none by default).
    public var slowStages: [SlowStage] = []
    public var transcriptPath: String?
    public var tracePath: String?
    /// Where the view is drawn; nil runs headless.
    public var terminal: ReplayTerminal?
    /// Listens to the session's microphone for these wake phrases (then commands and dictation);
    /// nil does not listen.
    public var wakePhrases: [String]?
    /// What recognises speech: PocketSphinx (the default) or Whisper.
    public var recognition: SpeechRecognition = .pocketsphinx
    /// Writes the replay as an annotated session: the camera frames (JPEG), the microphone, and
    /// every event but `frame` as JSON on `/visor/events`.
    public var outputPath: String?
    /// Blurs faces in the output session and the snapshots.
    public var redactFaces = false
    /// Writes PNG snapshots here every `snapshotEvery` frames: the composed view at the frame's
    /// size and the HUD alone at the device's resolution.
    public var snapshotDirectory: String?
    public var snapshotEvery = 30
    /// Replays the session this many times, back to back on one clock (for benchmarks).
    public var repeatCount = 1
    /// Answers what is heard and raises cues; nil runs without the assistant.
    public var assistant: Assistant?
    /// Writes everything the assistant said into this WAV file (16 kHz), placed at its times.
    public var speechOutputPath: String?
    /// Where the assistant's speech is played (live: a speaker).
    public var speechPlayback = SpeechOutputs()
    /// Every this many nanoseconds of session time, a `stats` event in the transcript: frames,
    /// arrival-to-done p50 and p99 over the interval, resident memory, open files (long runs).
    public var statsEveryNanoseconds: UInt64?
    /// Touchpad and button events to inject (`--input`), in time order on the session's clock.
    public var inputEvents: [InputEvent] = []
    /// Told on the run's thread of each sensor that fails (the command line shows it).
    public var sensorLost: ((String) -> Void)?

    public init(profile: DeviceProfile) { self.profile = profile }
}

public typealias ReplayOptions = RunOptions

/// The terminal a replay draws into: how big it is now, and where its bytes go. The command line
/// supplies both, so that the runtime never writes to the terminal itself.
public struct ReplayTerminal {
    public var size: () -> TerminalSize
    public var write: (UnsafeRawBufferPointer) -> Void
    /// Keys typed since the last call.
    public var keys: () -> [TerminalKey]
    /// Draws the status line under the view (false for benchmarks encoding into nothing).
    public var showsStatus: Bool
    /// Shows a one-line alert over the view (a sensor lost); the runner shows it again after redrawing.
    public var alert: ((String) -> Void)?
    public var mode: TerminalMode = .halfBlocks
    public var colours: TerminalColours = .truecolour
    /// Rewrite only the cells that changed.
    public var diffing = true
    public init(size: @escaping () -> TerminalSize, write: @escaping (UnsafeRawBufferPointer) -> Void,
                keys: @escaping () -> [TerminalKey] = { [] }, showsStatus: Bool = true) {
        self.size = size
        self.write = write
        self.keys = keys
        self.showsStatus = showsStatus
    }
}

/// The keys a replay answers to.
public enum TerminalKey: Equatable, Sendable {
    /// Space: pause or resume.
    case pause
    /// The right arrow: one frame forward while paused.
    case step
    /// `h`: hide or show the HUD.
    case toggleHUD
    /// `d`: hide or show the detection boxes.
    case toggleDetections
    /// `q`.
    case quit
    /// A glasses control, from the keyboard: `t` tap, `y` double tap, `l` long press, `]` swipe
    /// forward, `[` swipe back, `c` capture.
    case input(InputKind)

    /// The control a key stands for.
    public static func control(_ byte: UInt8) -> InputKind? {
        switch byte {
        case UInt8(ascii: "t"): return .tap
        case UInt8(ascii: "y"): return .doubleTap
        case UInt8(ascii: "l"): return .longPress
        case UInt8(ascii: "]"): return .swipeForward
        case UInt8(ascii: "["): return .swipeBack
        case UInt8(ascii: "c"): return .capture
        default: return nil
        }
    }
}

/// What a run did, and how long each part took.
public struct RunResult {
    /// What was run: a session's path, a camera's device, or "microphone".
    public var sessionPath: String
    public var profile: DeviceProfile
    public var deterministic: Bool
    public var frames: Int
    public var audioBlocks: Int
    /// Capture time of the last sample processed, since the session began.
    public var lastSampleTimeNanoseconds: UInt64
    public var metrics: RuntimeMetrics
    /// Set when the session ended early (truncated): where reading stopped and why.
    public var damage: MCAPDamage?
    public var corruptChunks: [MCAPDamage]
    /// True when the run was stopped (Ctrl-C) before the end of the session.
    public var stopped: Bool
    /// Sensors that failed during the run, one line each (the other sensors went on).
    public var faults: [String] = []
    /// What else the user should know: a recording that ended, a camera that stalled.
    public var notes: [String] = []

    public init(sessionPath: String, profile: DeviceProfile, deterministic: Bool, frames: Int, audioBlocks: Int,
                lastSampleTimeNanoseconds: UInt64, metrics: RuntimeMetrics, damage: MCAPDamage?, corruptChunks: [MCAPDamage], stopped: Bool) {
        self.sessionPath = sessionPath; self.profile = profile; self.deterministic = deterministic; self.frames = frames
        self.audioBlocks = audioBlocks; self.lastSampleTimeNanoseconds = lastSampleTimeNanoseconds; self.metrics = metrics
        self.damage = damage; self.corruptChunks = corruptChunks; self.stopped = stopped
    }
}

public typealias ReplayResult = RunResult

/// The line under the replayed view: which frame of how many, and the session time. Its buffer is
/// reused from frame to frame.
final class StatusLine {
    let total: Int
    var frame = 0
    var sessionTimeNanoseconds: UInt64 = 0
    var paused = false
    private var bytes: [UInt8] = []

    init(total: Int) {
        self.total = total
        bytes.reserveCapacity(256)
    }

    /// Writes the line, cut to the terminal's width less one column: a line that wrapped would
    /// scroll the screen on every frame.
    func write(to terminal: ReplayTerminal) {
        bytes.removeAll(keepingCapacity: true)
        ByteText.append("\u{1B}[0m\u{1B}[2K", to: &bytes)
        let start = bytes.count
        if paused { ByteText.append(" PAUSED (space resumes, right arrow steps)", to: &bytes) }
        ByteText.append(" frame ", to: &bytes)
        ByteText.append(frame, to: &bytes)
        bytes.append(UInt8(ascii: "/"))
        ByteText.append(total, to: &bytes)
        ByteText.append("  ", to: &bytes)
        ByteText.appendSessionTime(sessionTimeNanoseconds, to: &bytes)
        ByteText.append("  q or Ctrl-C quits", to: &bytes)
        let room = max(1, terminal.size().columns - 1)
        if bytes.count - start > room { bytes.removeSubrange((start + room)...) }
        bytes.withUnsafeBytes { terminal.write($0) }
    }
}

/// PNG snapshots of what the wearer sees.
public enum Snapshot {
    /// Creates the snapshot folder, readable by its owner only (snapshots show what the wearer saw).
    public static func prepare(_ directory: String) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
        catch { throw VisorError("cannot create the snapshot folder \(directory): \(error.localizedDescription)") }
    }

    /// Writes `view-NNNNNN.png` (the frame with the HUD's light added where the display sits and
    /// the detections boxed) and `hud-NNNNNN.png` (the HUD alone, at the device's resolution).
    public static func write(_ frame: Frame, display: HUDRenderer?, index: Int, to directory: String) throws {
        let name = String(format: "%06d", index)
        var view = frame.pixels
        if let display {
            ViewCompositor.blend(hud: display.pixels, display: display.display, into: &view,
                                 viewWidth: frame.widthPixels, viewHeight: frame.heightPixels)
            try PNGCodec.write(display.pixels, width: display.display.widthPixels, height: display.display.heightPixels,
                               to: "\(directory)/hud-\(name).png")
        }
        try PNGCodec.write(view, width: frame.widthPixels, height: frame.heightPixels, to: "\(directory)/view-\(name).png")
    }
}
