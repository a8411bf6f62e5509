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

public struct ReplayOptions {
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

    public init(profile: DeviceProfile) { self.profile = profile }
}

/// The terminal a replay draws into: how big it is now, and where its bytes go. The command line
/// supplies both, so that the runtime never writes to the terminal itself.
public struct ReplayTerminal {
    public var size: () -> TerminalSize
    public var write: (UnsafeRawBufferPointer) -> Void
    /// Keys typed since the last call.
    public var keys: () -> [TerminalKey]
    /// Draws the status line under the view (false for benchmarks encoding into nothing).
    public var showsStatus: Bool
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
}

/// What a replay did, and how long each part took.
public struct ReplayResult {
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

    public init(sessionPath: String, profile: DeviceProfile, deterministic: Bool, frames: Int, audioBlocks: Int,
                lastSampleTimeNanoseconds: UInt64, metrics: RuntimeMetrics, damage: MCAPDamage?, corruptChunks: [MCAPDamage], stopped: Bool) {
        self.sessionPath = sessionPath; self.profile = profile; self.deterministic = deterministic; self.frames = frames
        self.audioBlocks = audioBlocks; self.lastSampleTimeNanoseconds = lastSampleTimeNanoseconds; self.metrics = metrics
        self.damage = damage; self.corruptChunks = corruptChunks; self.stopped = stopped
    }
}

/// Replays a session through the pipeline: the fast stages (convert, light, HUD, terminal) on every
/// frame, the slow stages on workers, paced at a chosen speed or as fast as possible.
public final class ReplayRunner {
    private let source: SessionSource
    private let options: ReplayOptions
    private let logger = Logger(label: "visor.replay")

    public init(source: SessionSource, options: ReplayOptions) {
        self.source = source
        self.options = options
    }

    /// The fast stages a replay runs, in order.
    public func fastStages() throws -> [FastStage] {
        var stages: [FastStage] = [ConvertStage(schema: source.cameraSchema, topic: source.cameraChannel.topic), LightStage(), MotionStage(),
                                   HUDStage(), try DisplayStage(profile: options.profile)]
        if let terminal = options.terminal {
            let stage = TerminalStage()
            stage.profileName = options.profile.name
            stage.encoder.mode = terminal.mode
            stage.encoder.colours = terminal.colours
            stage.encoder.diffing = terminal.diffing
            stages.append(stage)
        }
        return stages
    }

    /// Runs to the end of the session (as many times as asked), or until `shouldStop` returns true.
    /// - Throws: `VisorError` when a message cannot be decoded or an output cannot be written.
    public func run(shouldStop: () -> Bool = { false }) throws -> ReplayResult {
        let output = try options.outputPath.map { path -> SessionWriter in
            guard path != source.reader.path else { throw VisorError("the output session would overwrite the one replayed: \(path)") }
            return try SessionWriter(path: path)
        }
        let redactor = options.redactFaces ? try FaceRedactor() : nil
        let transcript = options.transcriptPath != nil || output != nil ? try TranscriptWriter(path: options.transcriptPath) : nil
        if let output {
            try output.addMetadata(name: "visor.replay", ["source": (source.reader.path as NSString).lastPathComponent,
                                                            "redact": options.redactFaces ? "faces" : "none", "profile": options.profile.name])
            transcript?.mirror = { time, json in try output.writeEvent(json: json, logTime: time) }
        }
        defer { try? transcript?.close() }
        var outputFrame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
        let wallStart = DispatchTime.now().uptimeNanoseconds
        let trace = options.tracePath.map { _ in TraceRecorder(origin: wallStart) }
        var pipelineOptions = Pipeline.Options(profile: options.profile)
        pipelineOptions.mode = options.deterministic ? .deterministic : .freeRunning
        pipelineOptions.workerThreads = options.workerThreads
        pipelineOptions.transcript = transcript
        pipelineOptions.trace = trace
        if let wakePhrases = options.wakePhrases, source.audioChannel != nil {
            let memory = options.assistant?.memory
            pipelineOptions.speech = try SpeechStage(wakePhrases: wakePhrases,
                                                     modelledLatencyNanoseconds: options.profile.modelledLatencyNanoseconds(SpeechStage.name),
                                                     contextWords: memory.map { m in { (try? m.vocabulary()) ?? [] } })
        }
        if let assistant = options.assistant {
            var outputs = SpeechOutputs()
            outputs.wavPath = options.speechOutputPath
            if let output { outputs.record = { try output.writeSpeech($0) } }
            pipelineOptions.assistant = AssistantStage(assistant: assistant, profile: options.profile, deterministic: options.deterministic, outputs: outputs)
        }
        let listening = pipelineOptions.speech != nil
        let stages = try fastStages()
        let terminalStage = stages.last as? TerminalStage
        let pipeline = try Pipeline(fastStages: stages, slowStages: options.slowStages, options: pipelineOptions)
        if let directory = options.snapshotDirectory { try Snapshot.prepare(directory) }
        var paused = false, stepping = false, pausedAt: UInt64 = 0, pausedFor: UInt64 = 0
        var redrawNow = false, statusShowsPaused = false

        let start = source.startTimeNanoseconds
        let hasWallClock = start > 1_000_000_000 * 978_307_200  // after 2001: log times are Unix time
        let cameraTotal = source.cameraMessageCount
        let sessionLength = (source.reader.statistics.messageEndTime &- start) + 1_000_000
        // Made once: a closure capturing per-frame values would be allocated on every frame.
        let status = StatusLine(total: Int(cameraTotal))
        let writeView: ((UnsafeRawBufferPointer) -> Void)? = options.terminal.map { terminal in
            { bytes in
                terminal.write(bytes)
                if terminal.showsStatus { status.write(to: terminal) }
            }
        }
        var frames = 0, audioBlocks = 0
        var lastTime: UInt64 = 0
        var stopped = false

        replaying: for round in 0..<max(1, options.repeatCount) {
            let offset = UInt64(round) * sessionLength
            var messages = source.messages()
            while let message = messages.next() {
                if shouldStop() { stopped = true; break replaying }
                // Keys: space pauses, the right arrow steps a frame, h and d toggle, q quits.
                while true {
                    for key in options.terminal?.keys() ?? [] {
                        switch key {
                        case .pause:
                            paused.toggle()
                            if paused { pausedAt = DispatchTime.now().uptimeNanoseconds } else { pausedFor += DispatchTime.now().uptimeNanoseconds - pausedAt }
                        case .step: if paused { stepping = true }
                        case .toggleHUD: terminalStage?.encoder.showsHUD.toggle(); redrawNow = true
                        case .toggleDetections: terminalStage?.encoder.showsDetections.toggle(); redrawNow = true
                        case .quit: stopped = true; break replaying
                        }
                    }
                    status.paused = paused
                    // Paused, a key that changes what is shown shows it now, not at the next frame.
                    if redrawNow || paused != statusShowsPaused, frames > 0, let terminal = options.terminal, let writeView {
                        pipeline.redraw(terminal: (terminal.size(), writeView))
                        statusShowsPaused = paused
                    }
                    redrawNow = false
                    if !paused || stepping || shouldStop() { break }
                    usleep(20_000)
                }
                if shouldStop() { stopped = true; break replaying }
                let sessionTime = (message.logTime &- start) + offset
                if case .times(let factor) = options.speed {
                    if stepping { pausedFor = DispatchTime.now().uptimeNanoseconds &- wallStart &- UInt64(Double(sessionTime) / factor) }
                    let due = wallStart + pausedFor + UInt64(Double(sessionTime) / factor)
                    while DispatchTime.now().uptimeNanoseconds < due {
                        if shouldStop() { stopped = true; break replaying }
                        usleep(UInt32(min(10_000, (due &- DispatchTime.now().uptimeNanoseconds) / 1000 + 1)))
                    }
                }
                lastTime = max(lastTime, sessionTime)
                guard message.channelID == source.cameraChannel.id else {
                    audioBlocks += 1
                    if listening || output != nil, case .audio(var block) = try source.decode(message) {
                        block.captureTimeNanoseconds = sessionTime
                        if listening { pipeline.process(audio: block) }
                        try output?.writeAudio(block)
                    }
                    continue
                }
                let arrival = DispatchTime.now().uptimeNanoseconds
                var drawing: (size: TerminalSize, write: (UnsafeRawBufferPointer) -> Void)?
                if let terminal = options.terminal, let writeView {
                    status.frame = frames + 1
                    status.sessionTimeNanoseconds = sessionTime
                    drawing = (terminal.size(), writeView)
                }
                let decoded = try pipeline.process(message, sessionTime: sessionTime, wallClock: hasWallClock ? message.logTime : nil,
                                                   arrival: arrival, terminal: drawing)
                if stepping { stepping = false; pausedAt = DispatchTime.now().uptimeNanoseconds }
                guard decoded else { continue }
                let snapshot = options.snapshotDirectory != nil && frames % max(1, options.snapshotEvery) == 0
                if output != nil || snapshot {
                    outputFrame = pipeline.state.frame
                    outputFrame.captureTimeNanoseconds = sessionTime
                    redactor?.redact(&outputFrame)
                    try output?.writeFrame(outputFrame)
                    if snapshot, let directory = options.snapshotDirectory {
                        try Snapshot.write(outputFrame, display: pipeline.state.display, index: frames, to: directory)
                    }
                }
                frames += 1
            }
        }
        try pipeline.finish()
        let damage = source.reader.damage
        if let damage, !stopped {
            try transcript?.event(timeNanoseconds: lastTime, TranscriptEvent(kind: "truncated", fields: [("offset", .int(Int64(damage.offset)))]))
        }
        try transcript?.close()
        try output?.finish()
        if let trace, let path = options.tracePath { try trace.write(to: path) }
        logger.info("replayed \(frames) frames, \(audioBlocks) audio blocks")
        return ReplayResult(sessionPath: source.reader.path, profile: options.profile, deterministic: options.deterministic,
                            frames: frames, audioBlocks: audioBlocks, lastSampleTimeNanoseconds: lastTime,
                            metrics: pipeline.metrics, damage: damage, corruptChunks: source.reader.corruptChunks, stopped: stopped)
    }
}

/// The line under the replayed view: which frame of how many, and the session time. Its buffer is
/// reused from frame to frame.
private final class StatusLine {
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
