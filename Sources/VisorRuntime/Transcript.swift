import Foundation
import VisorCore

/// The transcript of a run, as JSON Lines: one object per event, `time_ns` (capture time since the
/// session began) and `kind` first, other fields in a fixed order, so that two runs of the same
/// session give the same bytes. A transcript is a log: each event is written as it happens, so a
/// run that is killed keeps every event before it.
public final class TranscriptWriter {
    private let file: OutputFile?
    private var buffer: [UInt8] = []
    /// Also hands each event but `frame` (time and JSON object) here: the annotated session output.
    public var mirror: ((UInt64, String) throws -> Void)?

    /// - Parameter path: the file, or nil for events that only go to `mirror`.
    /// - Throws: `VisorError` if the file cannot be created.
    public init(path: String?) throws {
        file = try path.map { try OutputFile(path: $0, role: "transcript") }
        buffer.reserveCapacity(1024)
    }

    /// Writes one event as a JSON line: `time_ns`, `kind`, then the event's fields in order.
    public func event(timeNanoseconds: UInt64, _ event: TranscriptEvent) throws {
        var line = "{\"time_ns\":\(timeNanoseconds),\"kind\":\(Self.quote(event.kind.rawValue))"
        for (key, value) in event.fields {
            line += ",\(Self.quote(key)):"
            switch value {
            case .int(let v): line += String(v)
            case .fixed(let v, let decimals): line += Self.fixed(v, decimals: decimals)
            case .string(let s): line += Self.quote(s)
            case .bool(let b): line += b ? "true" : "false"
            case .ints(let values): line += "[" + values.map(String.init).joined(separator: ",") + "]"
            case .strings(let values): line += "[" + values.map(Self.quote).joined(separator: ",") + "]"
            }
        }
        line += "}"
        if event.kind != .frame, let mirror { try mirror(timeNanoseconds, line) }
        guard let file else { return }
        buffer.removeAll(keepingCapacity: true)
        buffer.append(contentsOf: line.utf8)
        buffer.append(UInt8(ascii: "\n"))
        try file.write(buffer)
    }

    public func close() throws {
        try file?.close()
    }

    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "null" }
        let scale = (0..<decimals).reduce(1.0) { r, _ in r * 10 }
        let scaled = Int64((value * scale).rounded())
        let sign = scaled < 0 ? "-" : ""
        let magnitude = scaled.magnitude
        let whole = magnitude / UInt64(scale)
        guard decimals > 0 else { return sign + String(whole) }
        var fraction = String(magnitude % UInt64(scale))
        fraction = String(repeating: "0", count: decimals - fraction.count) + fraction
        return "\(sign)\(whole).\(fraction)"
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
