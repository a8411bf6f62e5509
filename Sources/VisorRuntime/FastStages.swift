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
    private let jpeg = JPEGCodec()
    private let schema: String
    private let topic: String

    public init(schema: String, topic: String) {
        self.schema = schema
        self.topic = topic
    }

    public func process(_ state: inout FrameState) throws {
        switch state.input {
        case .message(let message):
            try decoder.decode(message, schema: schema, topic: topic, into: &state.frame)
        case .pixels(let bytes, let encoding, let width, let height, let step):
            try PixelConverter.convertToRGB(bytes, encoding: encoding, widthPixels: width, heightPixels: height, stepBytes: step, into: &state.frame.pixels)
            state.frame.widthPixels = width
            state.frame.heightPixels = height
        case .jpeg(let bytes):
            let size = try jpeg.decode(bytes, into: &state.frame.pixels)
            state.frame.widthPixels = size.width
            state.frame.heightPixels = size.height
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
            state.events.append(TranscriptEvent(kind: "light", fields: [
                ("level", .fixed(level, decimals: 3)), ("low_light", .bool(state.scene.lowLight)), ("glare", .bool(state.scene.glare)),
            ]))
        }
    }
}

/// How the head moves (still, turning, walking), how sharp the view is, and whether the scene
/// changed; `motion` events when the movement changes, `scene_change` events.
public final class MotionStage: FastStage {
    public let name = "motion"
    public let reads: Set<ContextKey> = [.frame]
    public let writes: Set<ContextKey> = [.motion]
    private let statistics = ImageStatistics()
    /// A movement is reported once it has held for this many frames, so one jolt is not a walk.
    private let settleFrames = 3
    private var candidate: ImageStatistics.Motion?
    private var candidateFrames = 0

    public init() {}

    public func process(_ state: inout FrameState) {
        let reading = statistics.read(state.frame)
        state.scene.sharpness = reading.sharpness
        if reading.sceneChanged {
            state.events.append(TranscriptEvent(kind: "scene_change", fields: [("residual", .fixed(reading.residual, decimals: 1))]))
        }
        if reading.motion == candidate { candidateFrames += 1 } else { candidate = reading.motion; candidateFrames = 1 }
        if candidateFrames == settleFrames, reading.motion.rawValue != state.scene.motion {
            state.scene.motion = reading.motion.rawValue
            state.events.append(TranscriptEvent(kind: "motion", fields: [
                ("state", .string(reading.motion.rawValue)), ("shift", .ints([Int64(reading.shiftX), Int64(reading.shiftY)])),
                ("sharpness", .fixed(reading.sharpness, decimals: 1)),
            ]))
        }
    }
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

/// Encodes the wearer's view with the HUD as terminal output (24-bit colour half blocks), when a
/// terminal is attached, with the detections in view boxed and labelled: codes in amber, text in
/// cyan.
public final class TerminalStage: FastStage {
    public let name = "terminal"
    public let reads: Set<ContextKey> = [.frame, .hud]
    public let writes: Set<ContextKey> = [.terminal]
    private let encoder = TerminalFrameEncoder()
    /// Rebuilt only when the detections change, so that drawing them allocates nothing per frame.
    private var annotations: [Annotation] = []
    private var annotated: (codes: [CodeSighting], texts: [TextSighting]) = ([], [])

    public init() {}

    public static func annotations(for scene: SceneContext) -> [Annotation] {
        scene.codes.map { Annotation(box: $0.box, label: "\($0.symbology) \($0.payload)", red: 255, green: 190, blue: 0) }
            + scene.texts.map { Annotation(box: $0.box, label: "\($0.text) \(Int(($0.confidence * 100).rounded()))%", red: 0, green: 210, blue: 255) }
    }

    public func process(_ state: inout FrameState) {
        guard let size = state.terminalView else { return }
        if annotated.codes != state.scene.codes || annotated.texts != state.scene.texts {
            annotated = (state.scene.codes, state.scene.texts)
            annotations = Self.annotations(for: state.scene)
        }
        let view = TerminalFrameEncoder.viewSize(frameWidth: state.frame.widthPixels, frameHeight: state.frame.heightPixels,
                                                 maxColumns: size.columns, maxRows: max(1, size.rows - 1))
        encoder.encode(state.frame, view: view, hud: state.hud, annotations: annotations)
        state.terminalBytes.removeAll(keepingCapacity: true)
        state.terminalBytes.append(contentsOf: encoder.output)
    }
}
