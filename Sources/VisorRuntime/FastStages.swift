import VisorCore
import VisorDisplay
import VisorMedia
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

/// Measures the light level of the frame.
public final class LightStage: FastStage {
    public let name = "light"
    public let reads: Set<ContextKey> = [.frame]
    public let writes: Set<ContextKey> = [.light]

    public init() {}

    public func process(_ state: inout FrameState) {
        state.scene.lightLevel = LightMeter.lightLevel(of: state.frame)
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
/// terminal is attached.
public final class TerminalStage: FastStage {
    public let name = "terminal"
    public let reads: Set<ContextKey> = [.frame, .hud]
    public let writes: Set<ContextKey> = [.terminal]
    private let encoder = TerminalFrameEncoder()

    public init() {}

    public func process(_ state: inout FrameState) {
        guard let size = state.terminalView else { return }
        let view = TerminalFrameEncoder.viewSize(frameWidth: state.frame.widthPixels, frameHeight: state.frame.heightPixels,
                                                 maxColumns: size.columns, maxRows: max(1, size.rows - 1))
        encoder.encode(state.frame, view: view, hud: state.hud)
        state.terminalBytes.removeAll(keepingCapacity: true)
        state.terminalBytes.append(contentsOf: encoder.output)
    }
}
