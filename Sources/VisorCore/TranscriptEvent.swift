/// One event of a run's transcript, made by a stage or the runtime. `timeNanoseconds` is set by
/// the runtime (the capture time the event belongs to, since the session began); the fields keep
/// their order, so transcripts are byte-identical run after run.
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

    public var kind: String
    public var fields: [(String, Value)]

    public init(kind: String, fields: [(String, Value)] = []) {
        self.kind = kind
        self.fields = fields
    }

    public static func == (a: TranscriptEvent, b: TranscriptEvent) -> Bool {
        a.kind == b.kind && a.fields.count == b.fields.count
            && zip(a.fields, b.fields).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}
