import Foundation
import VisorCore
import VisorDisplay
import VisorMedia
import VisorPerception
import VisorSession

/// Decodes the camera message to the working pixel format, once, where the frame is first touched.
public final class ConvertStage: FastStage {
    public let name = "convert"
    public let reads: Set<ContextKey> = [.encodedFrame]
    public let writes: Set<ContextKey> = [.frame]
    private let decoder = FrameDecoder()
    private let buffers = CameraBufferDecoder()
    private let schema: String
    private let topic: String

    /// - Parameter rotationClockwiseDegrees: how the session's frames are turned to be shown
    ///   upright (its `visor.camera` metadata; Aria Gen 1's RGB camera is 90).
    public init(schema: String, topic: String, rotationClockwiseDegrees: Int = 0) {
        self.schema = schema
        self.topic = topic
        decoder.rotationClockwiseDegrees = rotationClockwiseDegrees
    }

    public func process(_ state: inout FrameState) throws {
        switch state.input {
        case .message(let message):
            try decoder.decode(message, schema: schema, topic: topic, into: &state.frame)
        case .buffer(let bytes, let layout):
            try buffers.decode(bytes, layout: layout, into: &state.frame)
        case nil:
            break
        }
    }
}

/// Measures the light level, and raises `light` events when the view turns dark or glaring, or
/// back.
public final class LightStage: FastStage {
    public let name = "light"
    public let reads: Set<ContextKey> = [.frame]
    public let writes: Set<ContextKey> = [.light]
    private var reported: (lowLight: Bool, glare: Bool)?

    public init() {}

    public func process(_ state: inout FrameState) {
        let (level, blown) = LightMeter.measure(state.frame)
        state.scene.lightLevel = level
        state.scene.lowLight = level < 0.12
        state.scene.glare = blown > 0.2
        if reported == nil || reported! != (state.scene.lowLight, state.scene.glare) {
            reported = (state.scene.lowLight, state.scene.glare)
            state.events.append(TranscriptEvent(kind: .light, fields: [
                ("level", .fixed(level, decimals: 3)), ("low_light", .bool(state.scene.lowLight)), ("glare", .bool(state.scene.glare)),
            ]))
        }
    }
}

/// How the head moves (still, turning, walking), how sharp the view is, and whether the scene
/// changed; `motion` events when the movement changes, `scene_change` events.
///
/// With an IMU (samples handed in by `take`), the movement is the gyroscope's and the
/// accelerometer's (`ImuMotionEstimator`): turning with its rate in degrees a second, walking
/// with its steps a minute. Without one, or when its samples stop for half a second, it is the
/// view's (the shift between frames), which is the fallback. Each `motion` event names its
/// `source`: `imu` or `optical_flow`.
public final class MotionStage: FastStage {
    public let name = "motion"
    public let reads: Set<ContextKey> = [.frame]
    public let writes: Set<ContextKey> = [.motion]
    private let statistics = ImageStatistics()
    /// A movement seen in the view is reported once it has held for this many frames, so one jolt is not a walk.
    private let settleFrames = 3
    private var candidate: HeadMotion?
    private var candidateFrames = 0
    private var imu: ImuMotionEstimator?
    /// IMU samples older than this at a frame leave the movement to the view.
    public var imuTimeoutNanoseconds: UInt64 = 500_000_000

    public init() {}

    /// One IMU sample, its time on the session's clock, in time order (the frame thread's).
    public func take(_ sample: ImuSample) {
        if imu == nil { imu = ImuMotionEstimator() }
        imu!.add(sample)
    }

    public func process(_ state: inout FrameState) {
        let reading = statistics.read(state.frame)
        state.scene.sharpness = reading.sharpness
        if reading.sceneChanged {
            state.events.append(TranscriptEvent(kind: .sceneChange, fields: [("residual", .fixed(reading.residual, decimals: 1))]))
        }
        if let imu, let last = imu.lastTimeNanoseconds, state.sessionTimeNanoseconds &- last < imuTimeoutNanoseconds || last > state.sessionTimeNanoseconds {
            candidate = nil
            candidateFrames = 0
            guard let motion = imu.motion, motion != state.scene.motion || lastSource != "imu" else { return }
            state.scene.motion = motion
            lastSource = "imu"
            var fields: [(String, TranscriptEvent.Value)] = [("state", .string(motion.rawValue)), ("source", .string("imu"))]
            switch motion {
            case .turning: fields.append(("rate_deg_s", .fixed(imu.rate, decimals: 1)))
            case .walking: fields.append(("steps_per_min", .fixed(imu.rate, decimals: 1)))
            case .still: break
            }
            fields.append(("sharpness", .fixed(reading.sharpness, decimals: 1)))
            state.events.append(TranscriptEvent(kind: .motion, fields: fields))
            return
        }
        if reading.motion == candidate { candidateFrames += 1 } else { candidate = reading.motion; candidateFrames = 1 }
        if candidateFrames == settleFrames, reading.motion != state.scene.motion || lastSource != "optical_flow" {
            state.scene.motion = reading.motion
            lastSource = "optical_flow"
            state.events.append(TranscriptEvent(kind: .motion, fields: [
                ("state", .string(reading.motion.rawValue)), ("source", .string("optical_flow")),
                ("shift", .ints([Int64(reading.shiftX), Int64(reading.shiftY)])),
                ("sharpness", .fixed(reading.sharpness, decimals: 1)),
            ]))
        }
    }

    private var lastSource: String?
}

/// Composes the heads-up display from the scene context.
public final class HUDStage: FastStage {
    public let name = "hud"
    public let reads: Set<ContextKey> = [.light]
    public let writes: Set<ContextKey> = [.hud]

    public init() {}

    public func process(_ state: inout FrameState) {
        HUDComposer.compose(into: &state.hud, sessionTimeNanoseconds: state.sessionTimeNanoseconds,
                            wallClockNanoseconds: state.wallClockNanoseconds, scene: state.scene)
    }
}

/// Draws the HUD in the device's pixels (`HUDRenderer`) when its text changes, and checks that
/// it can be read: `warning` events when text does not fit the text area, when a line was shown
/// for less time than it takes to read at the profile's words per minute, and when the scene
/// behind the display is too bright for its light to stand out.
public final class DisplayStage: FastStage {
    public let name = "display"
    public let reads: Set<ContextKey> = [.frame, .hud]
    public let writes: Set<ContextKey> = [.display]
    public let renderer: HUDRenderer
    private let profile: DeviceProfile
    private var lastBytes: [[UInt8]] = []
    private var lastCount = -1
    /// When each laid-out line first showed.
    private var shownSince: [String: UInt64] = [:]
    private var overflowReported = false
    private var glareReported = false
    private var frameIndex = 0

    public init(profile: DeviceProfile) throws {
        self.profile = profile
        renderer = try HUDRenderer(display: profile.display)
    }

    public func process(_ state: inout FrameState) {
        state.display = renderer
        frameIndex += 1
        if state.hud.lineCount != lastCount || !zip(state.hud.lines.prefix(state.hud.lineCount), lastBytes).allSatisfy({ $0 == $1 }) {
            lastCount = state.hud.lineCount
            lastBytes = Array(state.hud.lines.prefix(state.hud.lineCount))
            renderer.render(lastBytes.map { String(decoding: $0, as: UTF8.self) })
            checkReadingTime(now: state.sessionTimeNanoseconds, events: &state.events)
            if renderer.overflowed != overflowReported {
                overflowReported = renderer.overflowed
                if renderer.overflowed {
                    state.events.append(TranscriptEvent(kind: .warning, fields: [
                        ("reason", .string("text_does_not_fit")),
                        ("detail", .string("the HUD's text takes more than the \(profile.display.textLines) lines of its text area")),
                    ]))
                }
            }
        }
        // Contrast: a see-through display adds its light to the world's; over a bright scene the
        // text washes out. Sampled every 8th frame on a coarse grid behind the display.
        if frameIndex % 8 == 1 { checkContrast(state.frame, events: &state.events) }
    }

    private func checkReadingTime(now: UInt64, events: inout [TranscriptEvent]) {
        let wordsPerMinute = Double(profile.display.wordsPerMinute ?? 200)
        let showing = Set(renderer.laidOut)
        for (line, since) in shownSince where !showing.contains(line) {
            shownSince[line] = nil
            // The clock line changes every second by design: only lines that carry words count.
            let words = line.split(separator: " ").filter { $0.contains(where: \.isLetter) }.count
            let needed = Double(words) / wordsPerMinute * 60 * 1e9
            if words >= 3, Double(now &- since) < needed {
                events.append(TranscriptEvent(kind: .warning, fields: [
                    ("reason", .string("shown_too_briefly")),
                    ("detail", .string(String(format: "\"%@\" was shown for %.1f s; %d words need %.1f s at %.0f words a minute",
                                              line, Double(now &- since) / 1e9, words, needed / 1e9, wordsPerMinute))),
                ]))
            }
        }
        for line in renderer.laidOut where shownSince[line] == nil { shownSince[line] = now }
    }

    private func checkContrast(_ frame: Frame, events: inout [TranscriptEvent]) {
        guard frame.widthPixels > 0, !renderer.laidOut.isEmpty else { return }
        let rect = ViewCompositor.displayRect(profile.display, viewWidth: frame.widthPixels, viewHeight: frame.heightPixels)
        var sum = 0, count = 0
        frame.pixels.withUnsafeBufferPointer { px in
            for y in stride(from: max(0, rect.y), to: min(frame.heightPixels, rect.y + rect.height), by: 8) {
                for x in stride(from: max(0, rect.x), to: min(frame.widthPixels, rect.x + rect.width), by: 8) {
                    let i = (y * frame.widthPixels + x) * 3
                    sum += (77 * Int(px[i]) + 150 * Int(px[i + 1]) + 29 * Int(px[i + 2])) >> 8
                    count += 1
                }
            }
        }
        guard count > 0 else { return }
        let behind = Double(sum) / Double(count) / 255
        // The text's light over the world: contrast (world + ink) / world; under 1.5 it is hard to read.
        let ink = HUDRenderer.inkColour(profile.display)
        let inkLuma = Double(77 * Int(ink.0) + 150 * Int(ink.1) + 29 * Int(ink.2)) / 256 / 255
        let contrast = (behind + inkLuma * 0.5) / max(0.02, behind)
        let low = contrast < 1.5
        if low != glareReported {
            glareReported = low
            if low {
                events.append(TranscriptEvent(kind: .warning, fields: [
                    ("reason", .string("low_contrast")),
                    ("detail", .string(String(format: "the scene behind the display is bright (%.0f %%): the HUD's contrast is %.2f:1", behind * 100, contrast))),
                ]))
            }
        }
    }
}

/// Encodes the wearer's view as terminal output (`TerminalFrameEncoder`), when a terminal is
/// attached: the world with the HUD's light where the display sits, detections boxed and labelled
/// (codes in amber, text in cyan), and a side panel: per-stage latency with a live history, the
/// HUD as the device lays it out, the detections, what was heard, the frame rate and drops.
public final class TerminalStage: FastStage {
    public let name = "terminal"
    public let reads: Set<ContextKey> = [.frame, .hud]
    public let writes: Set<ContextKey> = [.terminal]
    public let encoder = TerminalFrameEncoder()
    /// Columns the side panel takes when the terminal is wide enough (100 columns or more); 0 for none.
    public var panelColumns = 40
    public var profileName = ""
    /// Rebuilt only when the detections change, so that drawing them allocates nothing per frame.
    private var annotations: [Annotation] = []
    private var annotated: (codes: [CodeSighting], texts: [TextSighting], faces: [FaceSighting], gaze: GazePoint?) = ([], [], [], nil)
    private var panel: [PanelLine] = []
    private var history: [[UInt64]] = []
    private var panelAge = 0
    private var panelBuiltAt: UInt64?

    public init() {}

    public static func annotations(for scene: SceneContext) -> [Annotation] {
        scene.codes.map { Annotation(box: $0.box, label: "\($0.symbology) \($0.payload)", red: 255, green: 190, blue: 0) }
            + scene.texts.map { Annotation(box: $0.box, label: "\($0.text) \(Int(($0.confidence * 100).rounded()))%", red: 0, green: 210, blue: 255) }
            + scene.faces.map { Annotation(box: $0.box, label: "face \(Int(($0.score * 100).rounded()))%", red: 255, green: 80, blue: 200) }
            // Where the wearer looks: a small square, in white (the scene keeps only a fresh, confident point).
            + (scene.gaze.map { [Annotation(box: PixelRect(x: $0.x - 6, y: $0.y - 6, width: 13, height: 13), label: "", red: 255, green: 255, blue: 255)] } ?? [])
    }

    public func process(_ state: inout FrameState) {
        guard let size = state.terminalView else { return }
        if annotated.codes != state.scene.codes || annotated.texts != state.scene.texts || annotated.faces != state.scene.faces
            || annotated.gaze != state.scene.gaze {
            annotated = (state.scene.codes, state.scene.texts, state.scene.faces, state.scene.gaze)
            annotations = Self.annotations(for: state.scene)
        }
        let panelWidth = size.columns >= 100 ? panelColumns : 0
        let view = TerminalFrameEncoder.viewSize(frameWidth: state.frame.widthPixels, frameHeight: state.frame.heightPixels,
                                                 maxColumns: size.columns - panelWidth - (panelWidth > 0 ? 1 : 0), maxRows: max(1, size.rows - 1))
        // The panel's text is rebuilt four times a second (it allocates its strings then), not every frame.
        recordHistory(state.stats)
        if panelWidth > 0, panelBuiltAt.map({ state.sessionTimeNanoseconds &- $0 >= 250_000_000 || state.sessionTimeNanoseconds < $0 }) ?? true {
            panel = Self.panel(state, history: history, profile: profileName, width: panelWidth)
            panelBuiltAt = state.sessionTimeNanoseconds
        }
        if panelWidth == 0 { panel.removeAll(keepingCapacity: true) }
        panelAge += 1
        encoder.encode(state.frame, view: view, screen: TerminalSize(columns: size.columns, rows: max(1, size.rows - 1)),
                       hud: state.hud, display: state.display, annotations: annotations, panel: panel)
        state.terminalBytes.removeAll(keepingCapacity: true)
        state.terminalBytes.append(contentsOf: encoder.output)
    }

    private func recordHistory(_ stats: FrameStats) {
        if history.count != stats.latestNanoseconds.count {
            history = stats.latestNanoseconds.map { _ in [UInt64](repeating: 0, count: 24) }
        }
        guard panelAge % 2 == 0 else { return }
        for i in history.indices {
            history[i].removeFirst()
            history[i].append(stats.latestNanoseconds[i])
        }
    }

    static let sparks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    static func sparkline(_ values: [UInt64]) -> String {
        let top = max(1, values.max() ?? 1)
        return String(values.map { sparks[min(7, Int($0 * 8 / (top + 1)))] })
    }

    static func panel(_ state: FrameState, history: [[UInt64]], profile: String, width: Int) -> [PanelLine] {
        // A line cut short says so.
        func clip(_ s: String) -> String { s.count <= width ? s : String(s.prefix(max(0, width - 1))) + "…" }
        var lines: [PanelLine] = []
        lines.append(PanelLine(clip(String(format: "VISOR %@  %.1f fps  frame %llu", profile, state.stats.framesPerSecond, state.stats.frames)), colour: 0xFFFFFF))
        lines.append(PanelLine(clip("stage        ms    last \(history.first?.count ?? 0) frames"), colour: 0x8C8C8C))
        for (i, name) in state.stats.stageNames.enumerated() where i < history.count && history[i].contains(where: { $0 > 0 }) {
            let ms = Double(state.stats.latestNanoseconds[i]) / 1e6
            let drops = state.stats.drops[i] > 0 ? " -\(state.stats.drops[i])" : ""
            // Padded by hand: Foundation on Linux ignores a width on %@, which ran names into figures ("text181.93").
            let label = name.count < 9 ? name + String(repeating: " ", count: 9 - name.count) : String(name.prefix(8)) + " "
            lines.append(PanelLine(clip(label + String(format: "%6.2f ", ms) + sparkline(history[i]) + drops)))
        }
        if let display = state.display {
            lines.append(PanelLine(clip("HUD \(display.display.widthPixels)x\(display.display.heightPixels), \(display.display.textLines) lines, \(display.font.name)"), colour: 0x8C8C8C))
            for line in display.laidOut { lines.append(PanelLine(clip(" " + line), colour: 0x78FF8C)) }
            if display.overflowed { lines.append(PanelLine(clip(" (more text than fits)"), colour: 0xFF6060)) }
        }
        lines.append(PanelLine("detections", colour: 0x8C8C8C))
        for code in state.scene.codes { lines.append(PanelLine(clip(" \(code.symbology) \(code.payload)"), colour: 0xFFBE00)) }
        for text in state.scene.texts { lines.append(PanelLine(clip(" text \(text.text)"), colour: 0x00D2FF)) }
        if !state.scene.faces.isEmpty {
            let count = state.scene.faces.count
            lines.append(PanelLine(clip(" \(count == 1 ? "one person" : "\(count) people") ahead\(state.scene.faceApproaching ? ", approaching" : "")"), colour: 0xFF50C8))
        }
        if state.scene.codes.isEmpty && state.scene.texts.isEmpty && state.scene.faces.isEmpty { lines.append(PanelLine(" none")) }
        lines.append(PanelLine(clip(String(format: "heard  (mic %.0f dBFS%@)", state.scene.audioLevel, state.scene.voiceActive ? ", voice" : "")), colour: 0x8C8C8C))
        for heard in state.scene.heard.suffix(4) {
            let what = heard.kind == .wake ? "wake \(heard.label)" : heard.kind == .command ? "> \(heard.label) \(heard.words)" : "\"\(heard.words)\""
            lines.append(PanelLine(clip(" \(formatSessionTime(heard.startNanoseconds)) \(what)")))
        }
        // Printable text only: payloads and readings are other people's words.
        return lines.map { PanelLine(String(String.UnicodeScalarView($0.text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 })), colour: $0.colour) }
    }
}
