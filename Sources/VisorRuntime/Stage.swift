import VisorCore
import VisorDisplay
import VisorMedia
import VisorSession

/// The pieces of per-frame state that stages read and write. A pipeline checks at start-up that
/// every stage reads only what the input or an earlier stage provides.
public enum ContextKey: String, Hashable, Sendable, CaseIterable {
    /// The camera message as it arrived (encoded).
    case encodedFrame
    /// The frame in the working pixel format.
    case frame
    case light
    case motion
    case codes
    case text
    case faces
    case hud
    /// The HUD drawn in the device's pixels.
    case display
    case terminal
}

/// A frame as it arrives, before conversion: a session's camera message, or a camera's buffer.
public enum FrameInput {
    case message(MCAPMessage)
    /// A device's buffer as the camera filled it (packed pixels, or a JPEG from an MJPEG webcam),
    /// valid only while the frame is processed.
    case buffer(UnsafeRawBufferPointer, layout: CameraBufferLayout)
}

/// What the runtime knows of its own running, for the side panel: the latest time of each stage,
/// drops, the frame rate. The pipeline fills it; its arrays are sized once.
public struct FrameStats {
    /// Fast stages, then slow stages, then speech.
    public var stageNames: [String] = []
    public var latestNanoseconds: [UInt64] = []
    public var drops: [UInt64] = []
    public var framesPerSecond = 0.0
    public var frames: UInt64 = 0
    public init() {}
}

/// The working set of one frame. The pipeline owns one and reuses its buffers frame after frame.
public struct FrameState {
    public var input: FrameInput?
    public var frame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
    /// Capture time since the session began.
    public var sessionTimeNanoseconds: UInt64 = 0
    /// Capture time as Unix time, when the session has one.
    public var wallClockNanoseconds: UInt64?
    public var scene = SceneContext()
    public var hud = HUDState()
    /// The HUD in device pixels, when a display stage runs.
    public var display: HUDRenderer?
    /// Where the terminal view goes, or nil when headless.
    public var terminalView: TerminalSize?
    public var terminalBytes: [UInt8] = []
    public var stats = FrameStats()
    /// Transcript events fast stages raise on this frame (rare: on changes), written by the runtime.
    public var events: [TranscriptEvent] = []

    public init() {}
}

/// A stage that runs on every frame, in order, on the frame's thread. It must be quick and must
/// not allocate per frame once its buffers have grown.
public protocol FastStage: AnyObject {
    var name: String { get }
    var reads: Set<ContextKey> { get }
    var writes: Set<ContextKey> { get }
    func process(_ state: inout FrameState) throws
}

/// What a slow stage found in one frame: transcript events, and the change to the scene context.
public struct SlowStageOutput: Sendable {
    public var events: [TranscriptEvent]
    public var update: @Sendable (inout SceneContext) -> Void

    public init(events: [TranscriptEvent] = [], update: @escaping @Sendable (inout SceneContext) -> Void = { _ in }) {
        self.events = events
        self.update = update
    }
}

/// A stage that runs on a worker, fed only the newest frame: a busy stage drops frames instead of
/// queueing them. The runtime calls `analyze` for one frame at a time per stage, so a stage may
/// keep state between frames (to report a code once, say); it must touch nothing else.
public protocol SlowStage: AnyObject {
    var name: String { get }
    var reads: Set<ContextKey> { get }
    var writes: Set<ContextKey> { get }
    /// - Parameter frame: the frame in the working pixel format; its capture time is the result's.
    func analyze(_ frame: Frame) throws -> SlowStageOutput
    /// Whether the stage wants this frame, judged on the frame's thread from the fast stages'
    /// scene context (a reader waits for a steady view, say). Frames it declines are not drops.
    func wants(_ scene: SceneContext) -> Bool
}

extension SlowStage {
    public func wants(_ scene: SceneContext) -> Bool { true }
}

/// A slow stage's job: the frame it analyses, kept with its buffer from one use to the next, and
/// what the stage found.
final class SlowStageJob: StageJob {
    var frame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
    var output: Result<SlowStageOutput, Error>?

    /// Copies the frame into the job's buffer (which grows once, then is reused).
    func load(_ source: Frame) {
        if frame.pixels.count != source.pixels.count { frame.pixels = [UInt8](repeating: 0, count: source.pixels.count) }
        frame.pixels.withUnsafeMutableBufferPointer { dst in
            source.pixels.withUnsafeBufferPointer { src in dst.baseAddress!.update(from: src.baseAddress!, count: src.count) }
        }
        frame.widthPixels = source.widthPixels
        frame.heightPixels = source.heightPixels
        frame.captureTimeNanoseconds = source.captureTimeNanoseconds
        output = nil
    }
}

extension SlowStage {
    /// The stage as the scheduler sees it: the newest frame only, held to its modelled latency.
    func lane(modelledLatencyNanoseconds latency: UInt64, group: Int) -> StageLane {
        StageLane(name: name, intake: .newestOnly, modelledLatencyNanoseconds: latency, budgetNanoseconds: latency, group: group,
                  makeJob: { SlowStageJob(lane: $0) }, run: { [unowned self] job in
                      let job = job as! SlowStageJob
                      job.output = Result { try self.analyze(job.frame) }
                  })
    }
}
