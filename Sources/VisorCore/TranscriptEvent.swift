/// One event of a run's transcript, made by a stage or the runtime. `timeNanoseconds` is set by
/// the runtime (the capture time the event belongs to, since the session began); the fields keep
/// their order, so transcripts are byte-identical run after run.
/// What a transcript line is about: its `kind`. A struct of known values rather than a closed
/// enum, so that a new stage declares its own kinds in its own file (`extension EventKind`).
public struct EventKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let frame = EventKind(rawValue: "frame")
    public static let light = EventKind(rawValue: "light")
    public static let motion = EventKind(rawValue: "motion")
    /// A touchpad gesture or button press, and what it did.
    public static let input = EventKind(rawValue: "input")
    public static let sceneChange = EventKind(rawValue: "scene_change")
    public static let code = EventKind(rawValue: "code")
    public static let text = EventKind(rawValue: "text")
    public static let face = EventKind(rawValue: "face")
    public static let wake = EventKind(rawValue: "wake")
    public static let command = EventKind(rawValue: "command")
    public static let utterance = EventKind(rawValue: "utterance")
    public static let overlay = EventKind(rawValue: "overlay")
    public static let speech = EventKind(rawValue: "speech")
    public static let memory = EventKind(rawValue: "memory")
    public static let model = EventKind(rawValue: "model")
    public static let photo = EventKind(rawValue: "photo")
    public static let warning = EventKind(rawValue: "warning")
    public static let stageError = EventKind(rawValue: "stage_error")
    public static let stats = EventKind(rawValue: "stats")
    public static let sensorLost = EventKind(rawValue: "sensor_lost")
    public static let cameraStall = EventKind(rawValue: "camera_stall")
    public static let truncated = EventKind(rawValue: "truncated")
}

public struct TranscriptEvent: Equatable, Sendable {
    public enum Value: Equatable, Sendable {
        case int(Int64)
        /// A number printed with a fixed count of decimals, so output never depends on float formatting.
        case fixed(Double, decimals: Int)
        case string(String)
        case bool(Bool)
        /// Integers, for boxes and polygons.
        case ints([Int64])
        /// Strings, for the lines of a text.
        case strings([String])
    }

    public var kind: EventKind
    public var fields: [(String, Value)]

    public init(kind: EventKind, fields: [(String, Value)] = []) {
        self.kind = kind
        self.fields = fields
    }

    public static func == (a: TranscriptEvent, b: TranscriptEvent) -> Bool {
        a.kind == b.kind && a.fields.count == b.fields.count
            && zip(a.fields, b.fields).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}
